// The page's search, without a browser: ranking, typos, operators and the web search entry.

import assert from "node:assert/strict";
import { test } from "node:test";

import { distance, fold, search } from "../../src/startpunkt/web/statics/search.js";

function entry(name, fields = {}) {
  return {
    key: name,
    kind: "app",
    name,
    info: "",
    group: "",
    tags: [],
    url: "https://" + name.toLowerCase().replace(/\s+/g, "") + ".example.com",
    newTab: false,
    ...fields,
  };
}

const ENTRIES = [
  entry("Grafana", { group: "Monitoring", tags: ["ops"] }),
  entry("Prometheus", { group: "Monitoring" }),
  entry("Jellyfin", { group: "Media", tags: ["media"] }),
  entry("CyberChef", { info: "The Cyber Swiss Army Knife" }),
  entry("Gitea", { url: "https://git.example.com" }),
  entry("Home Assistant", { group: "Home" }),
  entry("Café", { kind: "bookmark" }),
];

const names = (query, options) => search(ENTRIES, query, options).map((m) => m.name);

test("a typo, a transposition or a missing letter still finds the app first", () => {
  assert.equal(names("grafnaa")[0], "Grafana");
  assert.equal(names("promethues")[0], "Prometheus");
  assert.equal(names("jelyfin")[0], "Jellyfin");
});

test("descriptions, URLs, subsequences and operators are searched", () => {
  assert.equal(names("swiss army")[0], "CyberChef");
  assert.equal(names("git.example")[0], "Gitea");
  assert.equal(names("hass")[0], "Home Assistant");
  assert.deepEqual(names("tag:media"), ["Jellyfin"]);
  assert.deepEqual(names("group:monitoring").sort(), ["Grafana", "Prometheus"]);
});

test("every word must match, and nothing matches nonsense", () => {
  assert.deepEqual(names("grafana jellyfin"), []);
  assert.deepEqual(names("zzzzqqq"), []);
});

test("accents and case do not count", () => {
  assert.equal(fold("Café"), "cafe");
  assert.deepEqual(names("CAFE"), ["Café"]);
});

test("an empty query lists everything, and one link is listed once", () => {
  assert.equal(names("").length, ENTRIES.length);
  const twice = [entry("One", { url: "https://same.example" }), entry("Other one", { url: "https://same.example" })];
  assert.deepEqual(search(twice, "one").map((m) => m.name), ["One"]);
});

test("a question mark searches the web, only with a search engine", () => {
  const options = { searchEngine: "https://search.example/?q=", webLabel: (text) => `Search the web for ${text}` };
  assert.deepEqual(search(ENTRIES, "? big cats", options), [
    { web: true, name: "Search the web for big cats", url: "https://search.example/?q=big%20cats", newTab: false },
  ]);
  assert.deepEqual(search(ENTRIES, "? big cats"), []);
  assert.deepEqual(search(ENTRIES, "?", options), []);
});

test("the distance counts an adjacent transposition as one edit and stops past its limit", () => {
  assert.equal(distance("grafnaa", "grafana", 2), 1);
  assert.equal(distance("abc", "abc", 1), 0);
  assert.equal(distance("abcdef", "uvwxyz", 1), 2);
});
