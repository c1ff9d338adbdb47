// Applies the reader's saved settings before the first paint (loaded in <head>, no defer).
(function () {
  "use strict";
  var root = document.documentElement;
  var prefs = {};
  try {
    prefs = JSON.parse(localStorage.getItem("startpunkt:preferences") || "{}") || {};
  } catch (e) {
    prefs = {};
  }
  if (prefs.theme === "light" || prefs.theme === "dark") root.dataset.theme = prefs.theme;
  if (/^(auto|[1-6])$/.test(String(prefs.columns))) root.dataset.columns = String(prefs.columns);
  if (prefs.showInfo === false) root.dataset.showInfo = "false";
  if (prefs.showTags === false) root.dataset.showTags = "false";
  root.classList.add("js");
})();
