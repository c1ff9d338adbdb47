// The reader's saved settings: read back safely, whatever localStorage holds.

import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULTS, datasetFor, parseCollapsed, parsePrefs } from "../../src/startpunkt/web/statics/preferences.js";

test("nothing saved means the defaults", () => {
  assert.deepEqual(parsePrefs(null), { ...DEFAULTS });
  assert.deepEqual(parsePrefs(""), { ...DEFAULTS });
});

test("saved settings are read back", () => {
  const saved = JSON.stringify({ theme: "dark", columns: "3", showInfo: false, showTags: true });
  assert.deepEqual(parsePrefs(saved), { theme: "dark", columns: "3", showInfo: false, showTags: true });
  assert.equal(parsePrefs(JSON.stringify({ columns: 4 })).columns, "4");
});

test("garbage and values out of range fall back to the defaults", () => {
  for (const text of ["{", "null", "[1,2]", '"dark"', "42"]) {
    assert.deepEqual(parsePrefs(text), { ...DEFAULTS }, text);
  }
  const odd = parsePrefs(JSON.stringify({ theme: "neon", columns: "9", showInfo: "no" }));
  assert.deepEqual(odd, { ...DEFAULTS });
});

test("settings become the data attributes the stylesheet reads", () => {
  assert.deepEqual(datasetFor(DEFAULTS), {
    theme: undefined,
    columns: "auto",
    showInfo: undefined,
    showTags: undefined,
  });
  assert.deepEqual(datasetFor({ theme: "light", columns: "2", showInfo: false, showTags: false }), {
    theme: "light",
    columns: "2",
    showInfo: "false",
    showTags: "false",
  });
});

test("collapsed groups are a set of ids; anything else is none", () => {
  assert.deepEqual(parseCollapsed('["g-app-1","g-bookmark-2"]'), new Set(["g-app-1", "g-bookmark-2"]));
  assert.deepEqual(parseCollapsed('[1, "g-app-1", null]'), new Set(["g-app-1"]));
  for (const text of [null, "{", '{"a":1}', "7"]) assert.deepEqual(parseCollapsed(text), new Set(), String(text));
});
