// The reader's settings (theme, columns, descriptions, tags) and collapsed groups, as kept in
// localStorage. Pure: no DOM, no storage; statics/prefs.js applies the same before first paint.

export const PREFS_KEY = "startpunkt:preferences";
export const COLLAPSED_KEY = "startpunkt:collapsed";
export const DEFAULTS = Object.freeze({ theme: "auto", columns: "auto", showInfo: true, showTags: true });

const COLUMNS = /^(auto|[1-6])$/;

// Stored text -> settings; anything unreadable or out of range falls back to the default.
export function parsePrefs(text) {
  let stored = {};
  try {
    stored = JSON.parse(text || "{}");
  } catch (e) {
    stored = {};
  }
  if (!stored || typeof stored !== "object" || Array.isArray(stored)) stored = {};
  return {
    theme: stored.theme === "light" || stored.theme === "dark" ? stored.theme : "auto",
    columns: COLUMNS.test(String(stored.columns)) ? String(stored.columns) : "auto",
    showInfo: stored.showInfo !== false,
    showTags: stored.showTags !== false,
  };
}

// Settings -> the <html> data attributes the stylesheet reads (undefined: no attribute).
export function datasetFor(prefs) {
  return {
    theme: prefs.theme === "light" || prefs.theme === "dark" ? prefs.theme : undefined,
    columns: COLUMNS.test(String(prefs.columns)) ? String(prefs.columns) : "auto",
    showInfo: prefs.showInfo === false ? "false" : undefined,
    showTags: prefs.showTags === false ? "false" : undefined,
  };
}

// Stored text -> the ids of the groups the reader collapsed.
export function parseCollapsed(text) {
  let ids = [];
  try {
    ids = JSON.parse(text || "[]");
  } catch (e) {
    ids = [];
  }
  return new Set(Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : []);
}
