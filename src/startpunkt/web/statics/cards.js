// Puts the server's cards in place: from a live event (a card inside its group, rendered by
// the server in the page's language) or from the page fetched again (a resync). Nothing here
// renders a card or decides how one looks; it only places, orders, counts and removes them.

export class Cards {
  // t: the page's translator; wanted: the tags the page filters on (folded by the server);
  // showAllOnRoot: the page shows every app when no tag is chosen; collapsed: a Set of group ids
  // clusters: a Set of the cluster names the page shows, or null for every cluster
  constructor({ t, wanted, showAllOnRoot, collapsed, clusters = null }) {
    this.t = t;
    this.clusters = clusters;
    this.wanted = wanted;
    this.showAllOnRoot = showAllOnRoot;
    this.collapsed = collapsed;
    this.chipsPaused = false;
    this.containers = {
      app: document.querySelector('.groups[data-kind="app"]'),
      bookmark: document.querySelector('.groups[data-kind="bookmark"]'),
    };
    this.reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  }

  cardFor(key) {
    for (const card of document.querySelectorAll("li.card")) {
      if (card.dataset.key === key) return card;
    }
    return null;
  }

  // A live event's card: `html` is its group as the server renders it, holding just this card.
  placeFragment(kind, html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const shell = template.content.querySelector("details.group");
    const card = shell ? shell.querySelector("li.card") : null;
    if (!card) return;
    const cluster = card.dataset.cluster;
    if (this.clusters && cluster && !this.clusters.has(cluster)) this.remove(card.dataset.key);
    else this.place(kind, card, shell);
  }

  // Puts `card` (a server-rendered li.card) into the page, in the group `shell` stands for (a
  // server-rendered details.group); an unchanged card stays as it is (and keeps its focus).
  place(kind, card, shell) {
    const container = this.containers[kind];
    if (!container) return;
    const old = this.cardFor(card.dataset.key);
    let details = document.getElementById(shell.id);
    if (old && details && old.closest("details.group") === details && old.isEqualNode(card)) return;
    const hadFocus = old && old.contains(document.activeElement);
    const oldGroup = old ? old.closest("details.group") : null;
    if (old) old.remove();
    if (!details) details = this.addGroup(container, shell);
    const fresh = document.importNode(card, true);
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
    this.refreshGroup(details);
    if (oldGroup && oldGroup !== details) this.refreshGroup(oldGroup);
    this.refreshSections();
    if (kind === "app") {
      this.ensureChips(fresh);
      this.pruneChips();
    }
    if (hadFocus) {
      const link = fresh.querySelector(".card-link");
      if (link && link.focus) link.focus();
    }
    this.flash(fresh);
  }

  // A new group: the server's, emptied, in its place by the order the server gave it.
  addGroup(container, shell) {
    const details = document.importNode(shell, true);
    details.querySelector("ul.cards").replaceChildren();
    if (this.collapsed.has(details.id)) details.open = false;
    const order = details.dataset.order || "";
    let before = null;
    for (const other of container.children) {
      if ((other.dataset.order || "") > order) {
        before = other;
        break;
      }
    }
    container.insertBefore(details, before);
    return details;
  }

  remove(key) {
    const card = this.cardFor(String(key));
    if (!card) return;
    const details = card.closest("details.group");
    card.remove();
    this.refreshGroup(details);
    this.refreshSections();
    this.pruneChips();
  }

  // The page as the server rendered it again (a resync): every card of `doc` in place, every
  // other card gone, and the server's tag bar.
  apply(doc) {
    this.chipsPaused = true; // the server's tag bar replaces the page's at the end
    try {
      for (const kind of ["app", "bookmark"]) {
        const source = doc.querySelector(`.groups[data-kind="${kind}"]`);
        const keep = new Set();
        for (const shell of source ? source.querySelectorAll("details.group") : []) {
          for (const card of shell.querySelectorAll("li.card")) {
            keep.add(card.dataset.key);
            this.place(kind, card, shell);
          }
        }
        for (const card of Array.from(this.containers[kind].querySelectorAll("li.card"))) {
          if (!keep.has(card.dataset.key)) this.remove(card.dataset.key);
        }
      }
    } finally {
      this.chipsPaused = false;
    }
    const nav = doc.querySelector("nav.tagbar");
    const mine = document.querySelector("nav.tagbar");
    if (nav && mine && !mine.isEqualNode(nav)) mine.replaceWith(document.importNode(nav, true));
  }

  refreshGroup(details) {
    if (!details) return;
    const n = details.querySelector("ul.cards").children.length;
    if (n === 0) {
      details.remove();
      return;
    }
    const count = details.querySelector(".group-count");
    count.textContent = String(n);
    count.setAttribute("title", this.t("home.groupCount", { count: n }));
  }

  refreshSections() {
    const apps = this.containers.app.children.length;
    const marks = this.containers.bookmark.children.length;
    document.getElementById("apps").hidden = apps === 0 && this.wanted.size === 0;
    document.querySelector('[data-empty="app"]').hidden = apps > 0;
    document.getElementById("bookmarks").hidden = marks === 0;
    const empty = document.querySelector(".empty-state");
    if (empty) empty.hidden = apps + marks > 0;
  }

  // A tag no chip offers yet gets one, in sorted place. Tags are compared as the server folds
  // them (`data-tag` on the card's tags and on the chips).
  ensureChips(card) {
    const nav = document.querySelector("nav.tagbar");
    if (!nav) return;
    const list = nav.querySelector("ul.chips");
    const known = new Set(Array.from(list.querySelectorAll("a.chip[data-tag]"), (a) => a.dataset.tag));
    for (const tag of card.querySelectorAll(".card-tags .tag[data-tag]")) {
      const folded = tag.dataset.tag;
      if (known.has(folded)) continue;
      known.add(folded);
      let before = null;
      for (const other of list.querySelectorAll("a.chip[data-tag]")) {
        if (other.dataset.tag > folded) {
          before = other.closest("li");
          break;
        }
      }
      list.insertBefore(this.chip(folded, tag.textContent), before);
    }
    nav.hidden = !list.querySelector("a.chip[data-tag]");
  }

  // A chip as the tag bar's: a link that toggles the tag in the page's selection.
  chip(folded, name) {
    const selection = new Set(this.wanted);
    const selected = selection.has(folded);
    if (selected) selection.delete(folded);
    else selection.add(folded);
    const link = document.createElement("a");
    link.className = "chip";
    link.setAttribute("href", selection.size ? "/" + Array.from(selection).sort().join(",") : "/");
    link.dataset.tag = folded;
    const hash = document.createElement("span");
    hash.setAttribute("aria-hidden", "true");
    hash.className = "chip-hash";
    hash.textContent = "#";
    link.append(hash, name);
    if (selected) {
      link.setAttribute("aria-current", "true");
      const note = document.createElement("span");
      note.className = "sr-only";
      note.textContent = " (" + this.t("tags.selected") + ")";
      link.append(note);
    }
    const item = document.createElement("li");
    item.append(link);
    return item;
  }

  // Where the page shows every app, a tag no card carries any more loses its chip, as on the
  // server's page. A filtered page does not see every app, so it keeps the chips it has.
  pruneChips() {
    if (this.chipsPaused || this.wanted.size || !this.showAllOnRoot) return;
    const nav = document.querySelector("nav.tagbar");
    if (!nav) return;
    const tags = this.containers.app.querySelectorAll(".card-tags .tag[data-tag]");
    const used = new Set(Array.from(tags, (tag) => tag.dataset.tag));
    for (const link of nav.querySelectorAll("a.chip[data-tag]")) {
      if (!used.has(link.dataset.tag)) link.closest("li").remove();
    }
    nav.hidden = !nav.querySelector("a.chip[data-tag]");
  }

  flash(card) {
    const link = card.querySelector(".card-link");
    if (!link || this.reduceMotion.matches || !link.animate) return;
    link.animate(
      [{ boxShadow: "0 0 0 3px var(--accent)" }, { boxShadow: "0 0 0 3px transparent" }],
      { duration: 1400, easing: "ease-out" }
    );
  }
}

// An image icon that does not load shows the letter the server rendered next to it.
export function fallBackOnBrokenImages() {
  const broken = (img) => {
    if (img.nextElementSibling && img.nextElementSibling.classList.contains("icon-fallback")) {
      img.remove();
    }
  };
  document.addEventListener(
    "error",
    (event) => {
      if (event.target instanceof HTMLImageElement && event.target.classList.contains("icon-img")) {
        broken(event.target);
      }
    },
    true
  );
  for (const img of document.querySelectorAll("img.icon-img")) {
    if (img.complete && img.naturalWidth === 0) broken(img);
  }
}

// Cards sort as the server sorts them within a group: location, then name, then key.
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
