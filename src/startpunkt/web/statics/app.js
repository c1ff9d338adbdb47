// Startpunkt: live updates, search, settings and remembered groups on top of the
// server-rendered page. Plain modern JavaScript, no build step, no third-party code.
//
// Cards built here must be node-for-node identical to templates/macros.html, and every value from
// the server goes in through textContent or setAttribute, never through HTML parsing.
(function () {
  "use strict";

  const script = document.currentScript;
  const root = document.documentElement;
  const SVG = "http://www.w3.org/2000/svg";
  const PREFS_KEY = "startpunkt:preferences";
  const COLLAPSED_KEY = "startpunkt:collapsed";

  function readJson(id) {
    const el = document.getElementById(id);
    try {
      return el ? JSON.parse(el.textContent || "{}") : {};
    } catch (e) {
      return {};
    }
  }

  const PAGE = readJson("page-data");
  const STRINGS = readJson("i18n-data");
  const SEARCH_ENGINE = safeUrl((script && script.dataset.searchEngine) || "") || "";
  const DASHBOARD_ICONS = Boolean(script && script.dataset.dashboardIcons === "on");
  const WANTED = new Set((PAGE.tags || []).map((t) => String(t).toLowerCase()));
  // the clusters this page shows; null: every one
  const CLUSTERS = Array.isArray(PAGE.clusters) ? new Set(PAGE.clusters.map(String)) : null;

  function t(key, values) {
    let node = STRINGS;
    for (const part of key.split(".")) {
      node = node && typeof node === "object" ? node[part] : undefined;
    }
    let text = typeof node === "string" ? node : key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  // -- mirrors of web/icons.py and web/views.py ----------------------------------------------

  const LETTER_COLORS = [
    "#B3261E", "#A3305F", "#7B3FA0", "#5146A8", "#1F5FA8", "#006A80",
    "#00705A", "#2E6B1F", "#7A5900", "#A04600", "#5F5A54", "#3F5A70",
  ];
  const PREFIXES = { mdi: "mdi", "simple-icons": "si", si: "si" };
  const NAME_RE = /^[a-z0-9][a-z0-9-]{0,80}$/;
  const HOMEPAGE_FORM_RE = /^(mdi|si)-(.+?)(?:-(#[0-9a-f]{3,8}))?$/i;
  const DASHBOARD_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,80}\.(png|svg|webp)$/;
  const COLOR_RE = new RegExp(
    "^(#[0-9a-fA-F]{3,4}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|[a-zA-Z]{3,30}" +
      "|(rgb|rgba|hsl|hsla)\\([0-9.,%\\s/a-z]{1,60}\\))$"
  );

  function safeUrl(url) {
    if (!url) return null;
    const cleaned = String(url).trim();
    const colon = cleaned.indexOf(":");
    if (colon < 0) return null;
    const scheme = cleaned.slice(0, colon).toLowerCase();
    if ((scheme !== "http" && scheme !== "https") || !cleaned.slice(0, 8).includes("//")) {
      return null;
    }
    if (/[\0\r\n\t]/.test(cleaned)) return null;
    return cleaned;
  }

  function safeColor(color) {
    if (color && COLOR_RE.test(String(color).trim())) return String(color).trim();
    return null;
  }

  function letterOf(name) {
    const first = Array.from(String(name).trim())[0];
    return first ? first.toUpperCase() : "?";
  }

  function letterColor(name) {
    let total = 0;
    for (const ch of String(name).trim()) total += ch.codePointAt(0);
    return LETTER_COLORS[total % LETTER_COLORS.length];
  }

  function iconSlug(set, name) {
    let slug = String(name).trim().toLowerCase();
    if (set === "si") {
      slug = slug.split("+").join("plus").split(".").join("dot").split("&").join("and");
      return slug.replace(/[^a-z0-9]/g, "");
    }
    return slug.replace(/[\s_]+/g, "-");
  }

  // what the server found missing (or found under another name) while we were running
  const iconFixes = new Map();

  function resolveIcon(icon, name, color) {
    const fill = safeColor(color);
    const spec = String(icon || "").trim();
    const letter = { kind: "letter", color: fill || letterColor(name), letter: letterOf(name) };
    if (spec.includes("://")) {
      const url = safeUrl(spec);
      return url ? { kind: "img", href: url } : letter;
    }
    if (!spec) return letter;
    // Homepage's forms: mdi-name, si-name, optionally with a colour: mdi-name-#f0d453
    const homepage = HOMEPAGE_FORM_RE.exec(spec);
    if (homepage) {
      const tint = safeColor(homepage[3]) || fill || "currentColor";
      return setIcon(homepage[1].toLowerCase(), homepage[2], tint, letter);
    }
    if (DASHBOARD_NAME_RE.test(spec.toLowerCase())) {
      return DASHBOARD_ICONS ? { kind: "img", href: "/icons/dashboard/" + spec.toLowerCase() } : letter;
    }
    const colon = spec.indexOf(":");
    const set = colon >= 0 ? PREFIXES[spec.slice(0, colon).toLowerCase()] : "mdi";
    if (!set) return letter;
    return setIcon(set, colon >= 0 ? spec.slice(colon + 1) : spec, fill || "currentColor", letter);
  }

  function setIcon(set, name, color, letter) {
    const slug = iconSlug(set, name);
    if (!NAME_RE.test(slug)) return letter;
    let href = "/icons/" + set + "/" + slug + ".svg";
    if (iconFixes.has(href)) href = iconFixes.get(href);
    if (!href) return letter;
    return { kind: "set", href: href, color: color, set: set, slug: slug };
  }

  function fnv1a(text) {
    let value = 0x811c9dc5;
    for (const byte of new TextEncoder().encode(text)) {
      value ^= byte;
      value = Math.imul(value, 0x01000193) >>> 0;
    }
    return value.toString(16).padStart(8, "0");
  }

  function groupId(kind, group) {
    return "g-" + kind + "-" + fnv1a(String(group).toLowerCase());
  }

  function statusTitle(app) {
    const state = t("status." + (app.status || "unknown"));
    if (app.statusCode == null) return state;
    if (app.latencyMs == null) return t("status.detailsNoLatency", { state: state, code: app.statusCode });
    return t("status.details", {
      state: state,
      code: app.statusCode,
      latency: Math.round(app.latencyMs),
    });
  }

  function splitTags(tags) {
    if (Array.isArray(tags)) return tags.map(String).filter((s) => s.trim());
    return String(tags || "").split(",").map((s) => s.trim()).filter(Boolean);
  }

  // -- DOM building ----------------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children || []) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function svgEl(tag, attrs, children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children || []) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function renderIcon(icon) {
    if (icon.kind === "set") {
      return svgEl(
        "svg",
        { class: "icon icon-set", viewBox: "0 0 24 24", fill: icon.color, "aria-hidden": "true", focusable: "false" },
        [svgEl("use", { href: icon.href + "#i" })]
      );
    }
    if (icon.kind === "img") {
      return el("img", {
        class: "icon icon-img", src: icon.href, alt: "", loading: "lazy",
        referrerpolicy: "no-referrer", width: "40", height: "40",
      });
    }
    return svgEl(
      "svg",
      { class: "icon icon-letter", viewBox: "0 0 40 40", "aria-hidden": "true", focusable: "false" },
      [
        svgEl("circle", { cx: "20", cy: "20", r: "20", fill: icon.color }),
        svgEl("text", { x: "20", y: "20", dy: "0.35em", "text-anchor": "middle" }, [icon.letter]),
      ]
    );
  }

  // kind: "app" or "bookmark"; data: an item as /api/apps, /api/bookmarks and the stream send it
  function renderCard(kind, data) {
    const name = String(data.name || "");
    const href = safeUrl(data.url);
    const urlText = href ? "" : String(data.url || "");
    const targetBlank = Boolean(data.targetBlank);
    const attrs = { class: "card card-" + kind, "data-key": String(data.key), "data-location": String(data.location || 1000) };
    const status = String(data.status || "unknown");
    if (kind === "app") attrs["data-status"] = status;
    if (data.stale) attrs["data-stale"] = "true";
    const li = el("li", attrs);

    const link = href
      ? el("a", targetBlank ? { class: "card-link", href: href, target: "_blank", rel: "noopener noreferrer" } : { class: "card-link", href: href })
      : el("div", { class: "card-link card-nolink" });
    link.append(el("span", { class: "card-icon" }, [
      renderIcon(resolveIcon(data.icon, name, kind === "app" ? data.iconColor : null)),
    ]));
    const body = el("span", { class: "card-body" }, [el("span", { class: "card-name" }, [name])]);
    // the same rule as the server's: another cluster's cards, and stale ones, name their cluster
    const cluster = data.cluster ? String(data.cluster) : "";
    if (cluster && (cluster !== PAGE.localCluster || data.stale)) {
      const badge = data.stale
        ? { class: "card-cluster", title: t("clusters.stale", { time: String(data.lastContact || "") }) }
        : { class: "card-cluster" };
      body.append(el("span", badge, [cluster]));
    }
    if (kind === "app") {
      body.append(el("span", { class: "badge badge-" + status, title: statusTitle(data) }, [
        el("span", { class: "badge-dot", "aria-hidden": "true" }),
        el("span", { class: "badge-text" }, [t("status." + status)]),
      ]));
    }
    if (data.info) body.append(el("span", { class: "card-info" }, [String(data.info)]));
    if (urlText) body.append(el("span", { class: "card-url", title: t("home.notALink") }, [urlText]));
    const tags = kind === "app" ? splitTags(data.tags) : [];
    if (tags.length) {
      body.append(el("span", { class: "card-tags" }, tags.map((tag) => el("span", { class: "tag" }, [tag]))));
    }
    link.append(body);
    if (href && targetBlank) link.append(el("span", { class: "sr-only" }, [" (" + t("home.opensInNewTab") + ")"]));
    li.append(link);
    return li;
  }

  function groupCountTitle(n) {
    return t("home.groupCount", { count: n });
  }

  function renderGroup(kind, name) {
    const details = el("details", { class: "group", id: groupId(kind, name), open: "" }, [
      el("summary", { class: "group-header" }, [
        el("h3", { class: "group-title" }, [String(name)]),
        el("span", { class: "group-count", title: groupCountTitle(0) }, ["0"]),
      ]),
      el("ul", { class: "cards" }),
    ]);
    if (collapsed.has(details.id)) details.open = false;
    return details;
  }

  // -- the page's state --------------------------------------------------------------------------

  const containers = {
    app: document.querySelector('.groups[data-kind="app"]'),
    bookmark: document.querySelector('.groups[data-kind="bookmark"]'),
  };

  let collapsed = new Set();
  try {
    collapsed = new Set(JSON.parse(localStorage.getItem(COLLAPSED_KEY) || "[]"));
  } catch (e) {
    collapsed = new Set();
  }
  for (const details of document.querySelectorAll("details.group")) {
    if (collapsed.has(details.id)) details.open = false;
  }
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.classList.contains("group")) return;
    if (details.open) collapsed.delete(details.id);
    else collapsed.add(details.id);
    try {
      localStorage.setItem(COLLAPSED_KEY, JSON.stringify(Array.from(collapsed)));
    } catch (e) {
      /* private mode: not remembered */
    }
  }, true);

  function cardFor(key) {
    for (const card of document.querySelectorAll("li.card")) {
      if (card.dataset.key === key) return card;
    }
    return null;
  }

  function cardOrder(card) {
    const name = card.querySelector(".card-name");
    return [Number(card.dataset.location) || 1000, (name ? name.textContent : "").toLowerCase(), card.dataset.key || ""];
  }

  function compare(a, b) {
    for (let i = 0; i < a.length; i++) {
      if (a[i] < b[i]) return -1;
      if (a[i] > b[i]) return 1;
    }
    return 0;
  }

  function groupElement(kind, name) {
    const id = groupId(kind, name);
    let details = document.getElementById(id);
    if (details) return details;
    details = renderGroup(kind, name);
    const folded = String(name).toLowerCase();
    const container = containers[kind];
    let before = null;
    for (const other of container.children) {
      const title = other.querySelector(".group-title");
      if (title && title.textContent.toLowerCase() > folded) {
        before = other;
        break;
      }
    }
    container.insertBefore(details, before);
    return details;
  }

  function refreshGroup(details) {
    if (!details) return;
    const list = details.querySelector("ul.cards");
    const n = list.children.length;
    if (n === 0) {
      details.remove();
      return;
    }
    const count = details.querySelector(".group-count");
    count.textContent = String(n);
    count.setAttribute("title", groupCountTitle(n));
  }

  function refreshSections() {
    const apps = containers.app.children.length;
    const marks = containers.bookmark.children.length;
    document.getElementById("apps").hidden = apps === 0 && WANTED.size === 0;
    document.querySelector('[data-empty="app"]').hidden = apps > 0;
    document.getElementById("bookmarks").hidden = marks === 0;
    const empty = document.querySelector(".empty-state");
    if (empty) empty.hidden = apps + marks > 0;
  }

  function wanted(data) {
    if (WANTED.size === 0 && PAGE.showAllOnRoot) return true;
    const tags = splitTags(data.tags);
    if (tags.length === 0) return true;
    return tags.some((tag) => WANTED.has(tag.toLowerCase()));
  }

  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  function flash(card) {
    const link = card.querySelector(".card-link");
    if (!link || reduceMotion.matches || !link.animate) return;
    link.animate(
      [{ boxShadow: "0 0 0 3px var(--accent)" }, { boxShadow: "0 0 0 3px transparent" }],
      { duration: 1400, easing: "ease-out" }
    );
  }

  function chipName(link) {
    return Array.from(link.childNodes)
      .filter((node) => node.nodeType === Node.TEXT_NODE)
      .map((node) => node.data)
      .join("")
      .trim()
      .toLowerCase();
  }

  // A tag no chip offers yet gets one, in sorted place, built like the server's.
  function ensureChips(tags) {
    if (tags.length === 0) return;
    let nav = document.querySelector("nav.tagbar");
    if (!nav) {
      const all = el("a", { class: "chip chip-all", href: "/" }, [t("tags.all")]);
      if (WANTED.size === 0) all.setAttribute("aria-current", "page");
      nav = el("nav", { class: "tagbar", "aria-label": t("tags.filterBy") }, [
        el("ul", { class: "chips" }, [el("li", {}, [all])]),
      ]);
      const main = document.getElementById("main");
      main.insertBefore(nav, main.firstChild);
    }
    const list = nav.querySelector("ul.chips");
    const known = new Set(Array.from(list.querySelectorAll("a.chip:not(.chip-all)"), chipName));
    for (const tag of tags) {
      const folded = tag.toLowerCase();
      if (known.has(folded)) continue;
      known.add(folded);
      const selection = new Set(WANTED);
      if (selection.has(folded)) selection.delete(folded);
      else selection.add(folded);
      const href = selection.size ? "/" + Array.from(selection).sort().join(",") : "/";
      const chip = el("li", {}, [
        el("a", { class: "chip", href: href }, [
          el("span", { "aria-hidden": "true", class: "chip-hash" }, ["#"]),
          tag,
        ]),
      ]);
      let before = null;
      for (const other of Array.from(list.children).slice(1)) {
        if (chipName(other.querySelector("a")) > folded) {
          before = other;
          break;
        }
      }
      list.insertBefore(chip, before);
    }
  }

  // Where the page shows every app, a tag no card carries any more loses its chip, as on the
  // server's page. A filtered page does not see every app, so it keeps the chips it has.
  let chipsPaused = false;

  function pruneChips() {
    if (chipsPaused || WANTED.size || !PAGE.showAllOnRoot) return;
    const nav = document.querySelector("nav.tagbar");
    if (!nav) return;
    const tags = containers.app.querySelectorAll(".card-tags .tag");
    const used = new Set(Array.from(tags, (tag) => tag.textContent.trim().toLowerCase()));
    for (const link of nav.querySelectorAll("a.chip:not(.chip-all)")) {
      if (!used.has(chipName(link))) link.closest("li").remove();
    }
    if (!nav.querySelector("a.chip:not(.chip-all)")) nav.remove();
  }

  function upsert(kind, data) {
    if (!data || data.key == null) return;
    if (kind === "app") ensureChips(splitTags(data.tags));
    upsertCard(kind, data);
    if (kind === "app") pruneChips();
  }

  function inClusters(data) {
    return CLUSTERS === null || !data.cluster || CLUSTERS.has(String(data.cluster));
  }

  function upsertCard(kind, data) {
    if ((kind === "app" && !wanted(data)) || !inClusters(data)) {
      remove(String(data.key));
      return;
    }
    const fresh = renderCard(kind, data);
    const old = cardFor(String(data.key));
    const details = groupElement(kind, data.group || "");
    if (old && old.isEqualNode(fresh) && old.closest("details") === details) return;
    const hadFocus = old && old.contains(document.activeElement);
    const oldGroup = old ? old.closest("details") : null;
    if (old) old.remove();
    const list = details.querySelector("ul.cards");
    const order = cardOrder(fresh);
    let before = null;
    for (const other of list.children) {
      if (compare(cardOrder(other), order) > 0) {
        before = other;
        break;
      }
    }
    list.insertBefore(fresh, before);
    refreshGroup(details);
    if (oldGroup && oldGroup !== details) refreshGroup(oldGroup);
    refreshSections();
    if (hadFocus) {
      const link = fresh.querySelector(".card-link");
      if (link && link.focus) link.focus();
    }
    flash(fresh);
    checkIcon(fresh, kind, data);
  }

  function remove(key) {
    const card = cardFor(key);
    if (!card) return;
    const details = card.closest("details");
    card.remove();
    refreshGroup(details);
    refreshSections();
    pruneChips();
  }

  // An icon name the server does not know: the server draws a letter, so do we.
  const iconChecks = new Map();

  function iconExists(href) {
    if (!iconChecks.has(href)) {
      iconChecks.set(href, fetch(href, { method: "HEAD" }).then((r) => r.ok, () => true));
    }
    return iconChecks.get(href);
  }

  // Learns (once per icon) whether the server has it; true if the card must be drawn again.
  async function settleIcon(kind, data) {
    const icon = resolveIcon(data.icon, String(data.name || ""), kind === "app" ? data.iconColor : null);
    if (icon.kind !== "set" || (await iconExists(icon.href))) return false;
    let fix = "";
    if (icon.set === "mdi" && icon.slug.startsWith("mdi-") && NAME_RE.test(icon.slug.slice(4))) {
      const alt = "/icons/mdi/" + icon.slug.slice(4) + ".svg";
      if (await iconExists(alt)) fix = alt;
    }
    iconFixes.set(icon.href, fix);
    return true;
  }

  async function checkIcon(card, kind, data) {
    if ((await settleIcon(kind, data)) && card.isConnected) upsert(kind, data);
  }

  // an image icon that fails to load becomes the letter the server would draw without it
  function letterForImage(img) {
    const card = img.closest(".card");
    const name = card ? card.querySelector(".card-name").textContent : "?";
    img.replaceWith(renderIcon({ kind: "letter", color: letterColor(name), letter: letterOf(name) }));
  }
  document.addEventListener("error", (event) => {
    if (event.target instanceof HTMLImageElement && event.target.classList.contains("icon-img")) {
      letterForImage(event.target);
    }
  }, true);
  for (const img of document.querySelectorAll("img.icon-img")) {
    if (img.complete && img.naturalWidth === 0 && img.closest(".card")) letterForImage(img);
  }

  // -- fetching everything again (RESYNC, reconnects without Last-Event-ID, polling) -------------

  async function fetchGroups(url, member) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.status === 404) return { items: [], revision: NaN };
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    const body = await response.json();
    const items = [];
    for (const group of body.groups || []) items.push(...(group[member] || []));
    return { items: items, revision: Number(body.revision) };
  }

  async function resync() {
    const params = new URLSearchParams();
    if (WANTED.size) params.set("tags", Array.from(WANTED).join(","));
    if (CLUSTERS !== null) params.set("cluster", Array.from(CLUSTERS).join(","));
    const query = params.toString() ? "?" + params.toString() : "";
    const marksQuery = CLUSTERS !== null ? "?cluster=" + encodeURIComponent(Array.from(CLUSTERS).join(",")) : "";
    const [apps, marks] = await Promise.all([
      fetchGroups("/api/apps" + query, "applications"),
      fetchGroups("/api/bookmarks" + marksQuery, "bookmarks"),
    ]);
    apply("app", apps.items);
    apply("bookmark", marks.items);
    const seen = Math.min(apps.revision, marks.revision);
    if (Number.isFinite(seen) && seen > revision) revision = seen;
  }

  function apply(kind, items) {
    const keep = new Set(items.map((item) => String(item.key)));
    chipsPaused = true;  // once at the end, not once per item
    try {
      for (const card of Array.from(containers[kind].querySelectorAll("li.card"))) {
        if (!keep.has(card.dataset.key)) remove(card.dataset.key);
      }
      for (const item of items) upsert(kind, item);
    } finally {
      chipsPaused = false;
    }
    pruneChips();
  }

  // -- the live connection -----------------------------------------------------------------------

  const live = document.getElementById("live");
  const liveText = live ? live.querySelector(".live-text") : null;
  let lastBeat = 0;

  function setLive(state) {
    if (!live) return;
    live.hidden = false;
    if (live.dataset.state === state) return;
    live.dataset.state = state;
    const short = {
      connecting: t("live.connecting"),
      connected: t("live.connected"),
      reconnecting: t("live.reconnecting"),
      polling: t("live.polling", { seconds: PAGE.refreshInterval }),
    }[state];
    const long = {
      connected: t("live.connectedLong"),
      reconnecting: t("live.reconnectingLong"),
    }[state];
    liveText.textContent = short || "";
    live.title = long || short || "";
  }

  function beat() {
    lastBeat = Date.now();
    if (!live || reduceMotion.matches) return;
    live.classList.remove("beat");
    void live.offsetWidth;
    live.classList.add("beat");
  }

  const HANDLERS = {
    APPLICATION_ADDED: (data) => upsert("app", data),
    APPLICATION_UPDATED: (data) => upsert("app", data),
    STATUS_CHANGED: (data) => upsert("app", data),
    APPLICATION_REMOVED: (data) => remove(String(data.key)),
    BOOKMARK_ADDED: (data) => upsert("bookmark", data),
    BOOKMARK_UPDATED: (data) => upsert("bookmark", data),
    BOOKMARK_REMOVED: (data) => remove(String(data.key)),
    CONFIG_CHANGED: () => window.location.reload(),
    HEARTBEAT: () => beat(),
    RESYNC: () => resync().catch(() => {}),
  };

  let source = null;
  let retries = 0;
  let pollTimer = 0;
  // the store revision this page reflects: the page's own, then each event's id and each resync
  let revision = Number(PAGE.revision) || 0;

  function poll(on) {
    if (on && !pollTimer && PAGE.refreshInterval > 0) {
      pollTimer = window.setInterval(() => resync().catch(() => {}), PAGE.refreshInterval * 1000);
    } else if (!on && pollTimer) {
      window.clearInterval(pollTimer);
      pollTimer = 0;
    }
  }

  function streamUrl() {
    const params = new URLSearchParams();
    if (WANTED.size) params.set("tags", Array.from(WANTED).join(","));
    // the stream replays what happened since (or sends RESYNC if that is too long ago);
    // Chromium's own reconnects send Last-Event-ID, which the server prefers
    params.set("lastEventId", String(revision));
    return "/api/updates/stream?" + params.toString();
  }

  function connect() {
    source = new EventSource(streamUrl());
    setLive(retries ? "reconnecting" : "connecting");
    source.addEventListener("open", () => {
      retries = 0;
      setLive("connected");
      beat();
      poll(false);
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CONNECTING) {
        setLive("reconnecting");
        return;
      }
      // closed for good (the server refused, or is gone): retry ourselves, poll meanwhile
      source.close();
      retries += 1;
      setLive("reconnecting");
      poll(true);
      window.setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(retries, 5)));
    });
    // every message is a plain `data:` envelope {type, timestamp, data}: switch on its type
    source.onmessage = (event) => {
      let envelope;
      try {
        envelope = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (!envelope || typeof envelope !== "object") return;
      const handle = Object.prototype.hasOwnProperty.call(HANDLERS, envelope.type)
        ? HANDLERS[envelope.type]
        : null;
      if (!handle) return;
      if (/^\d+$/.test(event.lastEventId || "")) revision = Number(event.lastEventId);
      handle(envelope.data || {});
    };
  }

  if (PAGE.realtime && typeof EventSource === "function") {
    connect();
  } else if (PAGE.refreshInterval > 0) {
    setLive("polling");
    poll(true);
  }

  // -- search ------------------------------------------------------------------------------------

  const dialog = document.getElementById("search");
  const input = document.getElementById("search-input");
  const results = document.getElementById("search-results");
  const status = document.getElementById("search-status");
  let matches = [];
  let active = -1;

  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function words(text) {
    return fold(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  }

  // optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions)
  function distance(a, b, limit) {
    if (Math.abs(a.length - b.length) > limit) return limit + 1;
    let prev2 = null;
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      let best = i;
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        let value = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
        if (prev2 && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          value = Math.min(value, prev2[j - 2] + 1);
        }
        row.push(value);
        best = Math.min(best, value);
      }
      if (best > limit) return limit + 1;
      prev2 = prev;
      prev = row;
    }
    return prev[b.length];
  }

  function subsequence(needle, hay) {
    let i = 0;
    for (const ch of hay) if (ch === needle[i]) i += 1;
    return i === needle.length;
  }

  function fieldScore(token, text, weight, fuzzy) {
    const folded = fold(text);
    if (!folded) return 0;
    const ws = words(text);
    if (ws.includes(token)) return weight * 10;
    if (folded.startsWith(token)) return weight * 9;
    if (ws.some((w) => w.startsWith(token))) return weight * 8;
    if (folded.includes(token)) return weight * 5;
    if (!fuzzy) return 0;
    if (token.length >= 3) {
      const limit = token.length >= 8 ? 2 : 1;
      for (const w of ws) {
        if (distance(token, w, limit) <= limit) return weight * 4;
        if (w.length > token.length && distance(token, w.slice(0, token.length), limit) <= limit) {
          return weight * 3;
        }
      }
    }
    if (token.length >= 2 && subsequence(token, folded.replace(/\s+/g, ""))) return weight * 2;
    return 0;
  }

  function entries() {
    const list = [];
    for (const card of document.querySelectorAll("li.card")) {
      const link = card.querySelector("a.card-link");
      if (!link) continue; // only links can be opened
      const details = card.closest("details");
      const title = details ? details.querySelector(".group-title") : null;
      const info = card.querySelector(".card-info");
      list.push({
        key: card.dataset.key,
        kind: card.classList.contains("card-app") ? "app" : "bookmark",
        name: card.querySelector(".card-name").textContent,
        info: info ? info.textContent : "",
        group: title ? title.textContent : "",
        tags: Array.from(card.querySelectorAll(".tag"), (tag) => tag.textContent),
        url: link.getAttribute("href"),
        newTab: link.getAttribute("target") === "_blank",
        icon: card.querySelector(".card-icon"),
      });
    }
    return list;
  }

  function score(entry, tokens) {
    let total = 0;
    for (const token of tokens) {
      let best = 0;
      if (token.startsWith("tag:")) {
        const want = fold(token.slice(4));
        best = entry.tags.some((tag) => fold(tag).startsWith(want)) ? 50 : 0;
      } else if (token.startsWith("group:")) {
        best = fieldScore(fold(token.slice(6)), entry.group, 5, false);
      } else {
        const url = entry.url.replace(/^https?:\/\/(www\.)?/i, "");
        best = Math.max(
          fieldScore(token, entry.name, 5, true),
          fieldScore(token, entry.tags.join(" "), 3, true),
          fieldScore(token, entry.group, 2.5, true),
          fieldScore(token, entry.info, 2, false),
          fieldScore(token, url, 1.5, false)
        );
      }
      if (best === 0) return 0;
      total += best;
    }
    return total + (entry.kind === "app" ? 0.5 : 0);
  }

  function search(query) {
    const trimmed = query.trim();
    if (trimmed.startsWith("?")) {
      const text = trimmed.slice(1).trim();
      if (!SEARCH_ENGINE || !text) return [];
      return [{ web: true, name: t("search.webSearch", { query: text }), url: SEARCH_ENGINE + encodeURIComponent(text), newTab: false }];
    }
    const all = entries();
    if (!trimmed) return all.slice(0, 50);
    const tokens = trimmed.split(/\s+/).map((tok) => (tok.includes(":") ? tok.toLowerCase() : fold(tok)));
    const seen = new Set();
    return all
      .map((entry) => ({ entry, value: score(entry, tokens) }))
      .filter((m) => m.value > 0)
      .sort((a, b) => b.value - a.value || fold(a.entry.name).localeCompare(fold(b.entry.name)))
      .map((m) => m.entry)
      .filter((entry) => (seen.has(entry.url) ? false : (seen.add(entry.url), true)))
      .slice(0, 50);
  }

  function renderResults() {
    results.replaceChildren();
    matches.forEach((match, index) => {
      const option = el("li", { class: "result", role: "option", id: "search-opt-" + index, "aria-selected": "false" });
      if (match.web) {
        option.append(
          el("span", { class: "card-icon" }, [svgEl("svg", { class: "icon icon-set", viewBox: "0 0 24 24", fill: "currentColor", "aria-hidden": "true", focusable: "false" }, [svgEl("use", { href: "/icons/mdi/web.svg#i" })])]),
          el("span", { class: "result-text" }, [el("span", { class: "result-name" }, [match.name])]),
          el("span", { class: "result-kind" }, [t("search.resultsBadge.web")])
        );
      } else {
        const meta = [match.group, match.info].filter(Boolean).join(" · ");
        option.append(
          match.icon ? match.icon.cloneNode(true) : el("span", { class: "card-icon" }),
          el("span", { class: "result-text" }, [
            el("span", { class: "result-name" }, [match.name]),
            el("span", { class: "result-meta" }, [meta]),
          ]),
          el("span", { class: "result-kind" }, [t("search.resultsBadge." + match.kind)])
        );
      }
      option.addEventListener("click", () => openMatch(match, false));
      option.addEventListener("mousemove", () => {
        if (active !== index) setActive(index);
      });
      results.append(option);
    });
    input.setAttribute("aria-expanded", matches.length ? "true" : "false");
    status.textContent = input.value.trim()
      ? matches.length === 1
        ? t("search.resultCountOne")
        : matches.length
          ? t("search.resultCount", { count: matches.length })
          : t("search.noResults")
      : "";
    setActive(matches.length ? 0 : -1);
  }

  function setActive(index) {
    active = index;
    for (const option of results.children) option.setAttribute("aria-selected", "false");
    const option = index >= 0 ? results.children[index] : null;
    if (option) {
      option.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function openMatch(match, forceNewTab) {
    if (!match) return;
    const url = safeUrl(match.url);
    if (!url) return;
    dialog.close();
    if (match.newTab || forceNewTab) window.open(url, "_blank", "noopener,noreferrer");
    else window.location.assign(url);
  }

  function openSearch(initial) {
    if (dialog.open) return;
    input.value = initial || "";
    dialog.showModal();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    matches = search(input.value);
    renderResults();
  }

  input.addEventListener("input", () => {
    matches = search(input.value);
    renderResults();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!matches.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive((active + step + matches.length) % matches.length);
    } else if (event.key === "Home" && event.ctrlKey) {
      setActive(matches.length ? 0 : -1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      openMatch(matches[active], event.ctrlKey || event.metaKey);
    }
  });

  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener("close", () => {
    results.replaceChildren();
    status.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  });

  function typing(target) {
    return (
      target instanceof HTMLElement &&
      (target.isContentEditable || target.closest("input, textarea, select, [contenteditable]"))
    );
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      openSearch("");
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "/") {
      event.preventDefault();
      openSearch("");
    } else if (event.key.length === 1 && /\S/u.test(event.key)) {
      event.preventDefault();
      openSearch(event.key);
    }
  });

  // -- settings ----------------------------------------------------------------------------------

  const settings = document.getElementById("settings");
  const form = settings.querySelector("form");
  const DEFAULTS = { theme: "auto", columns: "auto", showInfo: true, showTags: true };

  function loadPrefs() {
    try {
      return Object.assign({}, DEFAULTS, JSON.parse(localStorage.getItem(PREFS_KEY) || "{}"));
    } catch (e) {
      return Object.assign({}, DEFAULTS);
    }
  }

  function applyPrefs(prefs) {
    if (prefs.theme === "light" || prefs.theme === "dark") root.dataset.theme = prefs.theme;
    else delete root.dataset.theme;
    root.dataset.columns = /^(auto|[1-6])$/.test(String(prefs.columns)) ? String(prefs.columns) : "auto";
    if (prefs.showInfo === false) root.dataset.showInfo = "false";
    else delete root.dataset.showInfo;
    if (prefs.showTags === false) root.dataset.showTags = "false";
    else delete root.dataset.showTags;
  }

  function syncForm(prefs) {
    for (const radio of form.elements.namedItem("theme")) radio.checked = radio.value === prefs.theme;
    form.elements.namedItem("columns").value = String(prefs.columns);
    form.elements.namedItem("showInfo").checked = prefs.showInfo !== false;
    form.elements.namedItem("showTags").checked = prefs.showTags !== false;
  }

  function savePrefs(prefs) {
    try {
      localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
    } catch (e) {
      /* not remembered */
    }
    applyPrefs(prefs);
  }

  form.addEventListener("change", () => {
    savePrefs({
      theme: form.elements.namedItem("theme").value || "auto",
      columns: form.elements.namedItem("columns").value,
      showInfo: form.elements.namedItem("showInfo").checked,
      showTags: form.elements.namedItem("showTags").checked,
    });
  });

  settings.querySelector('[data-action="reset-settings"]').addEventListener("click", () => {
    try {
      localStorage.removeItem(PREFS_KEY);
    } catch (e) {
      /* nothing to remove */
    }
    applyPrefs(DEFAULTS);
    syncForm(DEFAULTS);
  });

  settings.addEventListener("click", (event) => {
    if (event.target === settings) settings.close();
  });

  window.addEventListener("storage", (event) => {
    if (event.key === PREFS_KEY) {
      const prefs = loadPrefs();
      applyPrefs(prefs);
      syncForm(prefs);
    }
  });

  for (const button of document.querySelectorAll("[data-action]")) {
    const action = button.dataset.action;
    if (action === "search") {
      button.hidden = false;
      button.addEventListener("click", () => openSearch(""));
    } else if (action === "settings") {
      button.hidden = false;
      button.addEventListener("click", () => {
        syncForm(loadPrefs());
        settings.showModal();
      });
    }
  }

  applyPrefs(loadPrefs());

  // for tests and for anyone poking at the page from the console
  window.Startpunkt = {
    renderCard: renderCard,
    // the card once the server has confirmed its icon (what a live update ends up showing)
    renderCardSettled: async (kind, data) => {
      await settleIcon(kind, data);
      return renderCard(kind, data);
    },
    resolveIcon: resolveIcon,
    groupId: groupId,
    search: (query) => search(query).map((m) => m.name),
    resync: resync,
    get lastHeartbeat() {
      return lastBeat;
    },
  };
})();
