// The page's event stream: where it connects, and what each message says. Pure: no DOM.
//
// The page reads its own stream, `/api/updates/stream?view=page&lang=...`: the API's envelope
// {type, timestamp, data}, where an added or updated item's `data` is {key, kind, html}, the
// card as the server renders it (inside its group), and a removal's `data` is the item's key.

export const STREAM_PATH = "/api/updates/stream";

// The stream's URL for a page in `lang`, filtered on `tags` (folded by the server), resuming
// after `revision`: the server replays what happened since, or sends RESYNC if that is too long
// ago (a browser's own reconnects send Last-Event-ID, which the server prefers).
export function streamUrl({ lang, tags, revision }) {
  const params = new URLSearchParams();
  params.set("view", "page");
  params.set("lang", String(lang));
  if (tags && tags.length) params.set("tags", Array.from(tags).join(","));
  params.set("lastEventId", String(Number(revision) || 0));
  return STREAM_PATH + "?" + params.toString();
}

// One message's envelope, or null if it is not one (then the page ignores it).
export function parseMessage(text) {
  let envelope;
  try {
    envelope = JSON.parse(text);
  } catch (e) {
    return null;
  }
  if (!envelope || typeof envelope !== "object" || typeof envelope.type !== "string") return null;
  const data = envelope.data && typeof envelope.data === "object" ? envelope.data : {};
  return { type: envelope.type, data: data };
}

// The store revision a message's `id:` names, or null (heartbeats carry none).
export function revisionOf(lastEventId) {
  return /^\d{1,18}$/.test(String(lastEventId || "")) ? Number(lastEventId) : null;
}

// What a message asks the page to do: "place" a server-rendered card, "remove" one by key,
// "reload", "beat", "resync", or "ignore". A change without its card (a server that does not
// render them) asks for a resync, so the page never guesses a card.
export function actionFor(type, data) {
  switch (type) {
    case "APPLICATION_ADDED":
    case "APPLICATION_UPDATED":
    case "STATUS_CHANGED":
    case "BOOKMARK_ADDED":
    case "BOOKMARK_UPDATED":
      return typeof data.html === "string" && data.key != null ? "place" : "resync";
    case "APPLICATION_REMOVED":
    case "BOOKMARK_REMOVED":
      return data.key != null ? "remove" : "ignore";
    case "CONFIG_CHANGED":
      return "reload";
    case "HEARTBEAT":
      return "beat";
    case "RESYNC":
      return "resync";
    default:
      return "ignore";
  }
}

// The page's own address to fetch again on a resync, without `lang` (the language cookie
// decides, so the fetch is served from the server's first-paint cache and sets no cookie).
export function pageUrl(pathname, search, lang) {
  const params = new URLSearchParams(search || "");
  params.delete("lang");
  if (lang) params.set("lang", lang);
  const query = params.toString();
  return (pathname || "/") + (query ? "?" + query : "");
}
