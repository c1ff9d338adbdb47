// The page's strings, looked up as the server's Translator does.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../../src/startpunkt/web/statics/i18n.js";

const t = translator({ home: { groupCount: "{count} objekt" }, live: { connected: "Live" } });

test("a nested key is found and its values filled in", () => {
  assert.equal(t("live.connected"), "Live");
  assert.equal(t("home.groupCount", { count: 3 }), "3 objekt");
});

test("an unknown key reads as itself", () => {
  assert.equal(t("home.nothing"), "home.nothing");
  assert.equal(t("live.connected.deeper"), "live.connected.deeper");
  assert.equal(translator(null)("a.b"), "a.b");
});
