// Bundles the CLI into dist/berth.mjs (plus lazily loaded chunks such as eventsource) so that
// `berth` starts without resolving hundreds of files or compiling TypeScript.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "dist");
rmSync(outdir, { recursive: true, force: true });

const result = await build({
  entryPoints: { berth: join(here, "src/main.ts") },
  outdir,
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
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
  // Some bundled CommonJS packages call require(); give ESM a real one.
  banner: {
    js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);",
  },
});

const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith(".mjs"));
for (const [file, info] of outputs)
  console.log(`${file.replace(`${here}/`, "")}  ${(info.bytes / 1024).toFixed(0)} KiB`);
