import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BuildCache } from "./build-cache";
import { parseOpaqueDirs } from "./layer-diff";

describe("parseOpaqueDirs", () => {
  it("reads getfattr -d output, with octal-escaped names", () => {
    const out = [
      "# file: /up/etc/myapp",
      'trusted.overlay.opaque="y"',
      "",
      "# file: /up/a\\040b",
      'trusted.overlay.opaque="y"',
      "",
      "# file: /up/other",
      'trusted.overlay.opaque="n"',
      "",
    ].join("\n");
    expect([...parseOpaqueDirs(out)]).toEqual(["/up/etc/myapp", "/up/a b"]);
  });
  it("is empty without opaque dirs", () => {
    expect(parseOpaqueDirs("").size).toBe(0);
  });
});

describe("BuildCache", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const key = (c: string) => `sha256:${c.repeat(64)}`;

  it("stores entries per key, lists their layers, and treats a corrupt file as a miss", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-cache-"));
    dirs.push(dir);
    const cache = await BuildCache.open(dir);
    const layer = { digest: key("a"), diffId: key("b"), size: 3 };
    await cache.put(key("1"), { version: 1, layer, created: "2026-01-01T00:00:00Z" });
    await cache.put(key("2"), { version: 1, layer: null, created: "2026-01-01T00:00:00Z" });
    expect(await cache.get(key("1"))).toEqual({
      version: 1,
      layer,
      created: "2026-01-01T00:00:00Z",
    });
    expect(await cache.get(key("3"))).toBeUndefined();
    expect([...(await cache.layerDigests())]).toEqual([key("a")]);
    writeFileSync(join(cache.dir, `${"1".repeat(64)}.json`), "{not json");
    expect(await cache.get(key("1"))).toBeUndefined();
    await expect(cache.get("nope")).rejects.toThrow();
  });
});
