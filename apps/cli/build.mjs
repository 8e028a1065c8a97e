// Bundles the CLI into one CommonJS file, dist/berth.cjs, so that `berth` starts without
// resolving hundreds of files or compiling TypeScript; then runs it once so that bin/berth.mjs
// has a V8 code cache for it (dist/berth.cjs.cache: see bin/berth.mjs). CommonJS because only a
// classic script can be compiled with a code cache on Node 20 (`vm.Script` cachedData).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "dist");
rmSync(outdir, { recursive: true, force: true });

const result = await build({
  entryPoints: { berth: join(here, "src/main.ts") },
  outdir,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outExtension: { ".js": ".cjs" },
  minify: true,
  legalComments: "none",
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
  // The CLI never sends form data: see src/bundle/no-form-data.ts (saves loading undici).
  inject: [join(here, "src/bundle/no-form-data.ts")],
  // zod's other locales stay out of the bundle: see src/bundle/zod-locales.ts.
  plugins: [
    {
      name: "zod-english-only",
      setup(b) {
        b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
          args.importer.includes(`${"/node_modules/zod/"}`)
            ? { path: join(here, "src/bundle/zod-locales.ts") }
            : undefined,
        );
      },
    },
  ],
  // The sources are ES modules: their import.meta.url is the bundle's own URL.
  define: { "import.meta.url": "__berthBundleUrl" },
  banner: { js: "const __berthBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith(".cjs"));
for (const [file, info] of outputs)
  console.log(`${file.replace(`${here}/`, "")}  ${(info.bytes / 1024).toFixed(0)} KiB`);

// One run writes the code cache (what V8 compiled for it); later runs start from it.
const run = spawnSync(process.execPath, [join(here, "bin/berth.mjs"), "--version"], {
  encoding: "utf8",
});
if (run.status !== 0) throw new Error(`the built CLI does not run: ${run.stderr}`);
const cache = join(outdir, "berth.cjs.cache");
console.log(existsSync(cache) ? "dist/berth.cjs.cache written" : "no code cache written");
