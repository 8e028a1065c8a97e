/**
 * Substituted by build.mjs for zod's `locales/index.js` inside the bundle only. zod's namespace
 * re-exports every one of its ~50 locales (`z.locales.*`), which esbuild cannot tree-shake out of
 * `import { z } from "zod"`: they were 60 % of the bundle and ~15–20 ms of every `berth` start.
 * The CLI speaks English (zod's default `en`, which zod configures itself); nothing uses the others.
 */
export { default as en } from "zod/v4/locales/en.js";
