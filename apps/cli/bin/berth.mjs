#!/usr/bin/env node
// The `berth` command. Runs the esbuild bundle (apps/cli/dist/berth.cjs, built by
// `npm run build -w @berth/cli`); without it, runs the TypeScript source through tsx.
//
// The bundle is compiled with V8's code cache (dist/berth.cjs.cache, written by the build's
// first run): parsing and compiling ~0.5 MB of JavaScript was a fifth of every start. V8 checks
// the cache against the source and its own version and flags; a cache it rejects (another
// Node, another bundle) is rewritten at exit when the directory is writable, else ignored.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const bundle = fileURLToPath(new URL("../dist/berth.cjs", import.meta.url));
if (existsSync(bundle)) {
  const cacheFile = `${bundle}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(Module.wrap(readFileSync(bundle, "utf8")), {
    filename: bundle,
    cachedData,
  });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    // At exit, so the cache holds what this run compiled lazily too.
    process.once("exit", () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // A read-only install: run without a cache.
      }
    });
  }
  const module = { exports: {} };
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
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
