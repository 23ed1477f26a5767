// Builds the browser bundles DocOS serves from its own static files (no CDN: the CSP allows only
// 'self', and clinics may be offline). `make install` runs `npm ci` and then this script.
//
//   frontend/local_viewer.js  ->  static/build/local_viewer.js (+ .map), an ES module with dwv inside
//   node_modules/dwv/dist/assets/workers -> static/build/assets/workers (dwv's decoders for compressed
//     transfer syntaxes; dwv starts them with `new URL("./assets/workers/...", import.meta.url)`)
//
// static/build/ is not committed: a fresh checkout gets it from `make install`.
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "static", "build");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(root, "frontend", "local_viewer.js")],
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  outfile: join(out, "local_viewer.js"),
  logLevel: "warning",
});

const dwvDist = join(root, "node_modules", "dwv", "dist");
// With their source maps: collectstatic's manifest storage follows each sourceMappingURL.
cpSync(join(dwvDist, "assets", "workers"), join(out, "assets", "workers"), { recursive: true });
const dwvVersion = JSON.parse(readFileSync(join(root, "node_modules", "dwv", "package.json"), "utf8")).version;
writeFileSync(join(out, "VERSION"), `dwv ${dwvVersion}\n`);
console.log(`[docos] built static/build/local_viewer.js (dwv ${dwvVersion})`);
