// Theme colours read from the root's computed styles (JupyterLab --jp-* variables with fallbacks).

import { parseColor, luminance } from "./colors.js";

const VARS = {
  bg: ["--jp-layout-color0", "#ffffff"],
  bg2: ["--jp-layout-color2", "#eeeeee"],
  fg: ["--jp-ui-font-color0", "rgba(0, 0, 0, 0.87)"],
  fg1: ["--jp-ui-font-color1", "rgba(0, 0, 0, 0.87)"],
  fg2: ["--jp-ui-font-color2", "rgba(0, 0, 0, 0.54)"],
  border: ["--jp-border-color1", "#bdbdbd"],
  border2: ["--jp-border-color2", "#e0e0e0"],
  accent: ["--jp-brand-color1", "#1976d2"],
  warn: ["--jp-warn-color0", "#f57c00"],
};

/** JupyterLab's dark theme, for the same variables; the light one is VARS's fallbacks. */
const DARK = {
  bg: "#111111", bg2: "#424242", fg: "rgba(255, 255, 255, 1)", fg1: "rgba(255, 255, 255, 0.87)", fg2: "rgba(255, 255, 255, 0.54)",
  border: "#616161", border2: "#424242", accent: "#42a5f5", warn: "#f57c00",
};

/**
 * The `theme` trait on the widget's root: "light" or "dark" set its --jp-* variables inline (the scoped CSS
 * and readTheme read them), with a matching `color-scheme` for native controls, whatever the page's theme;
 * "auto" lets the page's own through. `data-aw-theme` says which is forced.
 */
export function applyTheme(root, mode) {
  const forced = mode === "light" || mode === "dark";
  for (const [k, [name, light]] of Object.entries(VARS)) {
    if (forced) root.style.setProperty(name, mode === "dark" ? DARK[k] : light);
    else root.style.removeProperty(name);
  }
  root.style.colorScheme = forced ? mode : "";
  if (forced) root.dataset.awTheme = mode;
  else delete root.dataset.awTheme;
}

/** Resolve the theme colours as rgb()/rgba() strings, plus `dark` and the UI font family. */
export function readTheme(root) {
  const probe = document.createElement("span");
  probe.style.display = "none";
  root.appendChild(probe);
  const out = {};
  try {
    for (const [k, [name, fallback]] of Object.entries(VARS)) {
      probe.style.color = fallback;
      probe.style.color = `var(${name}, ${fallback})`;
      out[k] = getComputedStyle(probe).color || fallback;
    }
    out.font = getComputedStyle(root).fontFamily || "sans-serif";
  } finally {
    probe.remove();
  }
  const rgb = parseColor(out.bg);
  // a transparent background (no theme) reads as light
  out.dark = rgb ? rgb[3] > 0 && luminance(rgb) < 0.3 : false;
  return out;
}

/** Calls `cb` when the page theme may have changed; returns a cleanup function. */
export function watchTheme(cb) {
  const offs = [];
  if (typeof MutationObserver !== "undefined" && document.body) {
    const mo = new MutationObserver(cb);
    mo.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class", "style"] });
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["class", "style", "data-theme"] });
    offs.push(() => mo.disconnect());
  }
  if (typeof matchMedia === "function") {
    const mq = matchMedia("(prefers-color-scheme: dark)");
    if (mq.addEventListener) {
      mq.addEventListener("change", cb);
      offs.push(() => mq.removeEventListener("change", cb));
    }
  }
  return () => offs.forEach((f) => f());
}
