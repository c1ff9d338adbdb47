// The live connection: the page's own event stream, the live indicator, resyncs and polling.

import { actionFor, pageUrl, parseMessage, revisionOf, streamUrl } from "./envelope.js";

export class Live {
  // cards: the page's Cards; page: the page's data (#page-data); t: the page's translator
  constructor({ cards, page, t }) {
    this.cards = cards;
    this.page = page;
    this.t = t;
    this.lang = document.documentElement.lang;
    // the store revision this page reflects: the page's own, then each event's id and resync
    this.revision = Number(page.revision) || 0;
    this.lastBeat = 0;
    this.source = null;
    this.retries = 0;
    this.pollTimer = 0;
    this.indicator = document.getElementById("live");
    this.reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  }

  start() {
    if (this.page.realtime && typeof EventSource === "function") {
      this.connect();
    } else if (this.page.refreshInterval > 0) {
      this.setState("polling");
      this.poll(true);
    }
  }

  connect() {
    const url = streamUrl({ lang: this.lang, tags: this.page.tags || [], revision: this.revision });
    const source = (this.source = new EventSource(url));
    this.setState(this.retries ? "reconnecting" : "connecting");
    source.addEventListener("open", () => {
      this.retries = 0;
      this.setState("connected");
      this.beat();
      this.poll(false);
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CONNECTING) {
        this.setState("reconnecting");
        return;
      }
      // closed for good (the server refused, or is gone): retry ourselves, poll meanwhile
      source.close();
      this.retries += 1;
      this.setState("reconnecting");
      this.poll(true);
      window.setTimeout(() => this.connect(), Math.min(30000, 1000 * 2 ** Math.min(this.retries, 5)));
    });
    // every message is a plain `data:` envelope {type, timestamp, data}: switch on its type
    source.onmessage = (event) => this.receive(event.data, event.lastEventId);
  }

  receive(text, lastEventId) {
    const message = parseMessage(text);
    if (!message) return;
    const action = actionFor(message.type, message.data);
    if (action === "ignore") return;
    const revision = revisionOf(lastEventId);
    if (revision !== null) this.revision = revision;
    const data = message.data;
    if (action === "place") this.cards.placeFragment(data.kind === "bookmark" ? "bookmark" : "app", data.html);
    else if (action === "remove") this.cards.remove(String(data.key));
    else if (action === "reload") window.location.reload();
    else if (action === "beat") this.beat();
    else if (action === "resync") this.resync().catch(() => {});
  }

  // Fetches the page again and puts the server's cards in place (RESYNC, polling).
  async resync() {
    let doc = await this.fetchPage(pageUrl(location.pathname, location.search, ""));
    if (doc.documentElement.lang !== this.lang) {
      // no language cookie (blocked?): ask for the page's language by name
      doc = await this.fetchPage(pageUrl(location.pathname, location.search, this.lang));
    }
    this.cards.apply(doc);
    const element = doc.getElementById("page-data");
    let seen = NaN;
    try {
      seen = Number(JSON.parse(element ? element.textContent : "{}").revision);
    } catch (e) {
      seen = NaN;
    }
    if (Number.isFinite(seen) && seen > this.revision) this.revision = seen;
  }

  async fetchPage(url) {
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return new DOMParser().parseFromString(await response.text(), "text/html");
  }

  poll(on) {
    if (on && !this.pollTimer && this.page.refreshInterval > 0) {
      this.pollTimer = window.setInterval(() => this.resync().catch(() => {}), this.page.refreshInterval * 1000);
    } else if (!on && this.pollTimer) {
      window.clearInterval(this.pollTimer);
      this.pollTimer = 0;
    }
  }

  setState(state) {
    const live = this.indicator;
    if (!live) return;
    live.hidden = false;
    if (live.dataset.state === state) return;
    live.dataset.state = state;
    const t = this.t;
    const short = {
      connecting: t("live.connecting"),
      connected: t("live.connected"),
      reconnecting: t("live.reconnecting"),
      polling: t("live.polling", { seconds: this.page.refreshInterval }),
    }[state];
    const long = {
      connected: t("live.connectedLong"),
      reconnecting: t("live.reconnectingLong"),
    }[state];
    live.querySelector(".live-text").textContent = short || "";
    live.title = long || short || "";
  }

  beat() {
    this.lastBeat = Date.now();
    const live = this.indicator;
    if (!live || this.reduceMotion.matches) return;
    live.classList.remove("beat");
    void live.offsetWidth;
    live.classList.add("beat");
  }
}
