#!/usr/bin/env node
// berth-agent launcher: runs the bundle built by `npm run build` (apps/node-agent/build.mjs).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const bundle = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "berth-agent.mjs");
if (!existsSync(bundle)) {
  console.error(
    `berth-agent: ${bundle} is missing; build it first: npm run build -w @berth/node-agent (or npm run build at the repo root)`,
  );
  process.exit(1);
}
await import(pathToFileURL(bundle).href);
