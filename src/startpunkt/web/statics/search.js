// Typo-tolerant search over the page's cards. Pure: the entries come from the page (the cards
// the server rendered), and nothing here touches the DOM.
//
// An entry is {key, kind: "app"|"bookmark", name, info, group, tags: [...], url, newTab}.
// A query is words that must all match somewhere (name, tags, group, description, URL, best
// first), with `tag:x` and `group:x` operators; `?words` searches the web instead.

export const LIMIT = 50;

// Case and accents do not count: "Café" finds "cafe".
export function fold(text) {
  return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

export function words(text) {
  return fold(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

// The optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions), or
// limit + 1 as soon as it must exceed `limit`.
export function distance(a, b, limit) {
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

export function subsequence(needle, hay) {
  let i = 0;
  for (const ch of hay) if (ch === needle[i]) i += 1;
  return i === needle.length;
}

// How well one (folded) query word matches one field, times the field's weight; 0: not at all.
export function fieldScore(token, text, weight, fuzzy) {
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

// An entry's score for the query's tokens; 0 unless every token matches.
export function score(entry, tokens) {
  let total = 0;
  for (const token of tokens) {
    let best = 0;
    if (token.startsWith("tag:")) {
      const want = fold(token.slice(4));
      best = entry.tags.some((tag) => fold(tag).startsWith(want)) ? 50 : 0;
    } else if (token.startsWith("group:")) {
      best = fieldScore(fold(token.slice(6)), entry.group, 5, false);
    } else {
      const url = String(entry.url || "").replace(/^https?:\/\/(www\.)?/i, "");
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

// The matches for `query`, best first, one per URL, at most LIMIT. With `?words`, one web
// search entry ({web: true, name, url, newTab}) if a search engine is configured.
// `webLabel(text)` names that entry in the page's language.
export function search(entries, query, { searchEngine = "", webLabel = (text) => text } = {}) {
  const trimmed = String(query || "").trim();
  if (trimmed.startsWith("?")) {
    const text = trimmed.slice(1).trim();
    if (!searchEngine || !text) return [];
    return [{ web: true, name: webLabel(text), url: searchEngine + encodeURIComponent(text), newTab: false }];
  }
  if (!trimmed) return entries.slice(0, LIMIT);
  const tokens = trimmed.split(/\s+/).map((tok) => (tok.includes(":") ? tok.toLowerCase() : fold(tok)));
  const seen = new Set();
  return entries
    .map((entry) => ({ entry, value: score(entry, tokens) }))
    .filter((m) => m.value > 0)
    .sort((a, b) => b.value - a.value || fold(a.entry.name).localeCompare(fold(b.entry.name)))
    .map((m) => m.entry)
    .filter((entry) => (seen.has(entry.url) ? false : (seen.add(entry.url), true)))
    .slice(0, LIMIT);
}
