// The settings dialog and remembered collapsed groups, kept in localStorage.

import { COLLAPSED_KEY, DEFAULTS, PREFS_KEY, datasetFor, parseCollapsed, parsePrefs } from "./preferences.js";

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch (e) {
    return null; // storage refused (private mode): the defaults
  }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch (e) {
    /* not remembered */
  }
}

export function applyPrefs(prefs) {
  const root = document.documentElement;
  for (const [name, value] of Object.entries(datasetFor(prefs))) {
    if (value === undefined) delete root.dataset[name];
    else root.dataset[name] = value;
  }
}

export function loadPrefs() {
  return parsePrefs(read(PREFS_KEY));
}

// The groups the reader collapsed: applied to the page, and remembered as they change.
export function rememberCollapsed() {
  const collapsed = parseCollapsed(read(COLLAPSED_KEY));
  for (const details of document.querySelectorAll("details.group")) {
    if (collapsed.has(details.id)) details.open = false;
  }
  document.addEventListener(
    "toggle",
    (event) => {
      const details = event.target;
      if (!(details instanceof HTMLDetailsElement) || !details.classList.contains("group")) return;
      if (details.open) collapsed.delete(details.id);
      else collapsed.add(details.id);
      write(COLLAPSED_KEY, JSON.stringify(Array.from(collapsed)));
    },
    true
  );
  return collapsed;
}

export function startSettings() {
  const settings = document.getElementById("settings");
  const form = settings.querySelector("form");

  function syncForm(prefs) {
    for (const radio of form.elements.namedItem("theme")) radio.checked = radio.value === prefs.theme;
    form.elements.namedItem("columns").value = String(prefs.columns);
    form.elements.namedItem("showInfo").checked = prefs.showInfo !== false;
    form.elements.namedItem("showTags").checked = prefs.showTags !== false;
  }

  form.addEventListener("change", () => {
    const prefs = {
      theme: form.elements.namedItem("theme").value || "auto",
      columns: form.elements.namedItem("columns").value,
      showInfo: form.elements.namedItem("showInfo").checked,
      showTags: form.elements.namedItem("showTags").checked,
    };
    write(PREFS_KEY, JSON.stringify(prefs));
    applyPrefs(prefs);
  });

  settings.querySelector('[data-action="reset-settings"]').addEventListener("click", () => {
    write(PREFS_KEY, null);
    applyPrefs(DEFAULTS);
    syncForm(DEFAULTS);
  });

  settings.addEventListener("click", (event) => {
    if (event.target === settings) settings.close();
  });

  window.addEventListener("storage", (event) => {
    if (event.key === PREFS_KEY) {
      const prefs = loadPrefs();
      applyPrefs(prefs);
      syncForm(prefs);
    }
  });

  for (const button of document.querySelectorAll('[data-action="settings"]')) {
    button.hidden = false;
    button.addEventListener("click", () => {
      syncForm(loadPrefs());
      settings.showModal();
    });
  }

  applyPrefs(loadPrefs());
}
