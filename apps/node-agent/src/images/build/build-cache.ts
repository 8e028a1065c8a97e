/**
 * The build cache: one JSON file per step cache key under `<stateDir>/images/build-cache/`,
 * `<hex of key>.json` = what the step produced — its layer (digest, diffID, size) or none, and
 * when it was first built (the history's `created`, so a fully cached build yields the same
 * config, hence the same image digest). The config change of a step is not stored: it is a
 * pure function of the step, recomputed from the Dockerfile.
 *
 * One file per key: concurrent builds write different files, each atomically; a corrupt or
 * foreign file is a miss, never an error. A hit is used only while its layer blob is still in
 * the content store (checked by the builder). The image GC keeps every layer an entry names
 * (ImageStore.addGcRoots, registered by the Builder).
 */
import { readdir, readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { isErrno, writeFileAtomic } from "../../sys/fs";
import { DigestSchema } from "../oci";

export const CacheEntrySchema = z.object({
  version: z.literal(1),
  layer: z
    .object({ digest: DigestSchema, diffId: DigestSchema, size: z.number().int() })
    .nullable(),
  created: z.string(),
});
export type CacheEntry = z.infer<typeof CacheEntrySchema>;

export class BuildCache {
  constructor(readonly dir: string) {}

  static async open(stateDir: string): Promise<BuildCache> {
    const c = new BuildCache(join(stateDir, "images", "build-cache"));
    await mkdir(c.dir, { recursive: true, mode: 0o700 });
    return c;
  }

  private path(key: string): string {
    const hex = DigestSchema.parse(key).slice("sha256:".length);
    return join(this.dir, `${hex}.json`);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.path(key), "utf8");
    } catch (e) {
      if (isErrno(e, "ENOENT")) return undefined;
      throw e;
    }
    try {
      const parsed = CacheEntrySchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, entry: CacheEntry): Promise<void> {
    await writeFileAtomic(this.path(key), JSON.stringify(CacheEntrySchema.parse(entry)));
  }

  /** Every layer blob digest some entry names (GC roots). */
  async layerDigests(): Promise<Set<string>> {
    const out = new Set<string>();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isErrno(e, "ENOENT")) return out;
      throw e;
    }
    for (const n of names) {
      if (!/^[0-9a-f]{64}\.json$/.test(n)) continue;
      const e = await this.get(`sha256:${n.slice(0, 64)}`);
      if (e?.layer) out.add(e.layer.digest);
    }
    return out;
  }
}
