// The page's strings: the bundle of the page's language that the server embeds in the page
// (#i18n-data), read the way the server's Translator reads it. Pure: no DOM.

// A lookup function over `strings`: t("home.groupCount", { count: 3 }); an unknown key is
// returned as it is, so a missing string shows its name rather than nothing.
export function translator(strings) {
  return function t(key, values) {
    let node = strings;
    for (const part of String(key).split(".")) {
      node = node && typeof node === "object" ? node[part] : undefined;
    }
    let text = typeof node === "string" ? node : String(key);
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  };
}
