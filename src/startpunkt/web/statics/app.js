// Startpunkt: live updates, search, settings and remembered groups on top of the
// server-rendered page. Native ES modules, no build step, no third-party code.
//
// The server renders every card, also those of live updates (the page's own event stream
// carries them as HTML); this script puts them in place and renders none itself.

import { Cards, fallBackOnBrokenImages } from "./cards.js";
import { translator } from "./i18n.js";
import { Live } from "./live.js";
import { SearchBox } from "./searchbox.js";
import { rememberCollapsed, startSettings } from "./settings.js";

function readJson(id) {
  const element = document.getElementById(id);
  try {
    return element ? JSON.parse(element.textContent || "{}") : {};
  } catch (e) {
    return {};
  }
}

const script = document.getElementById("app-script");
const page = readJson("page-data");
const t = translator(readJson("i18n-data"));

fallBackOnBrokenImages();
const collapsed = rememberCollapsed();
const cards = new Cards({
  t: t,
  wanted: new Set(page.tags || []),
  showAllOnRoot: Boolean(page.showAllOnRoot),
  // the clusters the page shows (null: every one)
  clusters: Array.isArray(page.clusters) ? new Set(page.clusters.map(String)) : null,
  collapsed: collapsed,
});
const live = new Live({ cards: cards, page: page, t: t });
live.start();
const searchBox = new SearchBox({ t: t, searchEngine: (script && script.dataset.searchEngine) || "" });
searchBox.start();
startSettings();

// for tests and for anyone poking at the page from the console
window.Startpunkt = {
  search: (query) => searchBox.find(query).map((match) => match.name),
  resync: () => live.resync(),
  get lastHeartbeat() {
    return live.lastBeat;
  },
};
