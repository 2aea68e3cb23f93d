// State of one rendered view that never reaches Python: the token under the pointer, the width,
// the page's theme and the text measurers made for its font.

import { measurer } from "./dom.js";
import { readTheme } from "./theme.js";

export function createUiState(root) {
  const theme = readTheme(root);
  return {
    hover: null, // {side: "query" | "key", index} of the graph's token under the pointer or focus
    width: 0, // CSS pixels of the widget's root
    theme,
    measure: measurer(`12px ${theme.font}`),
    measureSmall: measurer(`11px ${theme.font}`),
  };
}
