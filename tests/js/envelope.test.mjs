// The page's stream: its URL, and what each message asks the page to do.

import assert from "node:assert/strict";
import { test } from "node:test";

import { actionFor, pageUrl, parseMessage, revisionOf, streamUrl } from "../../src/startpunkt/web/statics/envelope.js";

test("the page asks for its own view, in its language, from its revision", () => {
  assert.equal(
    streamUrl({ lang: "sv-SE", tags: ["dev", "ops"], revision: 41 }),
    "/api/updates/stream?view=page&lang=sv-SE&tags=dev%2Cops&lastEventId=41"
  );
  assert.equal(streamUrl({ lang: "en-US", tags: [], revision: undefined }), "/api/updates/stream?view=page&lang=en-US&lastEventId=0");
});

test("a message is an envelope with a type, or nothing", () => {
  assert.deepEqual(parseMessage('{"type":"HEARTBEAT","timestamp":"t","data":{"revision":3}}'), {
    type: "HEARTBEAT",
    data: { revision: 3 },
  });
  assert.deepEqual(parseMessage('{"type":"RESYNC"}'), { type: "RESYNC", data: {} });
  for (const text of ["", "{", "null", "[]", '{"data":{}}', '{"type":7}']) assert.equal(parseMessage(text), null, text);
});

test("changes place the server's card, removals remove by key", () => {
  const card = { key: "k", kind: "app", html: "<details></details>" };
  for (const type of ["APPLICATION_ADDED", "APPLICATION_UPDATED", "STATUS_CHANGED", "BOOKMARK_ADDED", "BOOKMARK_UPDATED"]) {
    assert.equal(actionFor(type, card), "place", type);
  }
  assert.equal(actionFor("APPLICATION_REMOVED", { key: "k" }), "remove");
  assert.equal(actionFor("BOOKMARK_REMOVED", { key: "k" }), "remove");
  assert.equal(actionFor("BOOKMARK_REMOVED", {}), "ignore");
});

test("a change without the server's card asks for a resync rather than a guess", () => {
  assert.equal(actionFor("APPLICATION_ADDED", { key: "k", name: "Tool" }), "resync");
});

test("the other types reload, beat, resync or are ignored", () => {
  assert.equal(actionFor("CONFIG_CHANGED", {}), "reload");
  assert.equal(actionFor("HEARTBEAT", {}), "beat");
  assert.equal(actionFor("RESYNC", {}), "resync");
  assert.equal(actionFor("SOMETHING_NEW", {}), "ignore");
});

test("only a number is a revision", () => {
  assert.equal(revisionOf("42"), 42);
  for (const id of ["", undefined, "4x", "-1", "1e3"]) assert.equal(revisionOf(id), null, String(id));
});

test("a resync fetches the page's own address, with the language only when asked", () => {
  assert.equal(pageUrl("/dev,ops", "?lang=sv-SE&tags=x", ""), "/dev,ops?tags=x");
  assert.equal(pageUrl("/", "", "sv-SE"), "/?lang=sv-SE");
  assert.equal(pageUrl("/", "?lang=en-US", ""), "/");
});
