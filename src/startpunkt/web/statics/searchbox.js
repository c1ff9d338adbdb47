// The search dialog: `/`, Ctrl+K or typing anywhere opens it; arrows move, Enter opens.

import { search } from "./search.js";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, children, namespace) {
  const node = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children || []) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// What search reads: every card that is a link, as the server rendered it.
export function entries() {
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

export class SearchBox {
  constructor({ t, searchEngine }) {
    this.t = t;
    this.options = { searchEngine: searchEngine, webLabel: (text) => t("search.webSearch", { query: text }) };
    this.dialog = document.getElementById("search");
    this.input = document.getElementById("search-input");
    this.results = document.getElementById("search-results");
    this.status = document.getElementById("search-status");
    this.matches = [];
    this.active = -1;
  }

  find(query) {
    return search(entries(), query, this.options);
  }

  start() {
    const { dialog, input } = this;
    input.addEventListener("input", () => this.update());
    input.addEventListener("keydown", (event) => this.onKey(event));
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener("close", () => {
      this.results.replaceChildren();
      this.status.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    });
    document.addEventListener("keydown", (event) => this.onPageKey(event));
    for (const button of document.querySelectorAll('[data-action="search"]')) {
      button.hidden = false;
      button.addEventListener("click", () => this.open(""));
    }
  }

  open(initial) {
    const { dialog, input } = this;
    if (dialog.open) return;
    input.value = initial || "";
    dialog.showModal();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    this.update();
  }

  update() {
    this.matches = this.find(this.input.value);
    this.render();
  }

  render() {
    const { t, results, input, matches } = this;
    results.replaceChildren();
    matches.forEach((match, index) => {
      const option = el("li", { class: "result", role: "option", id: "search-opt-" + index, "aria-selected": "false" });
      if (match.web) {
        const globe = el("svg", { class: "icon icon-set", viewBox: "0 0 24 24", fill: "currentColor", "aria-hidden": "true", focusable: "false" },
          [el("use", { href: "/icons/mdi/web.svg#i" }, [], SVG)], SVG);
        option.append(
          el("span", { class: "card-icon" }, [globe]),
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
      option.addEventListener("click", () => this.openMatch(match, false));
      option.addEventListener("mousemove", () => {
        if (this.active !== index) this.setActive(index);
      });
      results.append(option);
    });
    input.setAttribute("aria-expanded", matches.length ? "true" : "false");
    this.status.textContent = input.value.trim()
      ? matches.length === 1
        ? t("search.resultCountOne")
        : matches.length
          ? t("search.resultCount", { count: matches.length })
          : t("search.noResults")
      : "";
    this.setActive(matches.length ? 0 : -1);
  }

  setActive(index) {
    this.active = index;
    for (const option of this.results.children) option.setAttribute("aria-selected", "false");
    const option = index >= 0 ? this.results.children[index] : null;
    if (option) {
      option.setAttribute("aria-selected", "true");
      this.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  // the URL is a card's link (the server made it safe) or the configured search engine's
  openMatch(match, forceNewTab) {
    if (!match || !match.url) return;
    this.dialog.close();
    if (match.newTab || forceNewTab) window.open(match.url, "_blank", "noopener,noreferrer");
    else window.location.assign(match.url);
  }

  onKey(event) {
    const { matches } = this;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!matches.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.setActive((this.active + step + matches.length) % matches.length);
    } else if (event.key === "Home" && event.ctrlKey) {
      this.setActive(matches.length ? 0 : -1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      this.openMatch(matches[this.active], event.ctrlKey || event.metaKey);
    }
  }

  onPageKey(event) {
    if (event.defaultPrevented || event.isComposing) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      this.open("");
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "/") {
      event.preventDefault();
      this.open("");
    } else if (event.key.length === 1 && /\S/u.test(event.key)) {
      event.preventDefault();
      this.open(event.key);
    }
  }
}

function typing(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || target.closest("input, textarea, select, [contenteditable]"))
  );
}
