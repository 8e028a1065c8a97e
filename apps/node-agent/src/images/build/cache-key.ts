/**
 * Build cache keys. A step's key is the sha256 of a canonical JSON document holding:
 *   - `v`: the key format version (bump to invalidate every cache entry);
 *   - `parent`: the key of the previous step of the stage — for the first step, the base:
 *     `scratch`, the pulled image's manifest digest, or the key of the base stage's last step.
 *     Chaining keys makes a step depend on everything before it (config changes included);
 *   - `platform`: what is built for (`linux/amd64`);
 *   - `instruction`: the step's normalized text after substitution (Step.text: resolved
 *     WORKDIR paths, JSON argv with the current SHELL applied, expanded ports...), so two
 *     spellings of the same instruction share a key and a changed value does not;
 *   - `vars`: the ARG and ENV values the step can see, sorted (proxy build args are left out,
 *     as Docker does: changing a proxy does not invalidate the cache);
 *   - `input`: for COPY/ADD, the digest of the copied inputs — digestSources() for the context,
 *     or for `--from` the source stage's last key or image digest combined with the paths;
 *   - `network`: for RUN, the effective network mode (`none` or `host`).
 * Pure: same inputs, same key, on every node.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

export const CACHE_KEY_VERSION = 1;

export const CacheKeyInputSchema = z.object({
  parent: z.string().min(1),
  platform: z.string().min(1),
  instruction: z.string().min(1),
  vars: z.array(z.tuple([z.string(), z.string()])),
  input: z.string().min(1).optional(),
  network: z.enum(["none", "host"]).optional(),
});
export type CacheKeyInput = z.infer<typeof CacheKeyInputSchema>;

/** `sha256:<hex>` cache key of one build step. */
export function stepCacheKey(input: CacheKeyInput): string {
  const i = CacheKeyInputSchema.parse(input);
  const vars = [...i.vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const doc = JSON.stringify([
    ["v", CACHE_KEY_VERSION],
    ["parent", i.parent],
    ["platform", i.platform],
    ["instruction", i.instruction],
    ["vars", vars],
    ["input", i.input ?? null],
    ["network", i.network ?? null],
  ]);
  return `sha256:${createHash("sha256").update(doc).digest("hex")}`;
}

/** Input digest for `COPY --from=<stage|image>`: the source's identity plus the paths. */
export function copyFromInputDigest(sourceKey: string, sources: string[]): string {
  const doc = JSON.stringify(["copy-from", sourceKey, sources]);
  return `sha256:${createHash("sha256").update(doc).digest("hex")}`;
}
