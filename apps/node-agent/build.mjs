// Bundles berth-agent into one ESM file: dist/berth-agent.mjs (node 20). The banner gives
// bundled CommonJS dependencies a `require`.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [join(here, "src/main.ts")],
  outfile: join(here, "dist/berth-agent.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // Native addon (pty.node): required at run time from node_modules, never bundled.
  external: ["node-pty"],
  banner: {
    js: 'import { createRequire } from "module"; const require = createRequire(import.meta.url);',
  },
});
