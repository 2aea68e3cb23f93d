// Build step: copy reveal.js (npm package) into the Python package, for slides that load nothing
// from the network (attnwidget/nbexport.py inlines these files). Its MIT licence goes beside the copy.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const root = dirname(require.resolve("reveal.js/package.json"));
const dist = join(root, "dist");
const out = new URL("../attnwidget/static/reveal/", import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL("reveal.js", out), readFileSync(join(dist, "reveal.js")));
writeFileSync(new URL("reveal.css", out), readFileSync(join(dist, "reveal.css")));
writeFileSync(new URL("LICENSE", out), readFileSync(join(root, "LICENSE")));
// The theme's @import of web fonts would be a request; the slides use system fonts instead.
const theme = readFileSync(join(dist, "theme", "white.css"), "utf8").replace(/^@import[^;]*;\s*$/gm, "");
writeFileSync(new URL("theme.css", out), theme);
