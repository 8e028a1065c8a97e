#!/usr/bin/env node
// The `berth` command. Runs the esbuild bundle (apps/cli/dist/berth.mjs, built by
// `npm run build -w @berth/cli`); without it, runs the TypeScript source through tsx.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/berth.mjs", import.meta.url);
if (existsSync(fileURLToPath(bundle))) {
  await import(bundle.href);
} else {
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    process.stderr.write(
      "berth: the CLI is not built and tsx is not installed: run `npm run build -w @berth/cli` (or `npm install`) in the repository\n",
    );
    process.exit(1);
  }
  register();
  await import(new URL("../src/main.ts", import.meta.url).href);
}
