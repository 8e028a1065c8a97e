import { existsSync, lstatSync, mkdtempSync, readlinkSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageStore, chainIds } from "./image-store";

let dir: string;
let store: ImageStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-images-"));
  store = await ImageStore.open(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("chainIds", () => {
  it("follows the image-spec definition", () => {
    const a = `sha256:${"a".repeat(64)}`;
    const b = `sha256:${"b".repeat(64)}`;
    const ids = chainIds([a, b]);
    expect(ids[0]).toBe(a);
    expect(ids[1]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ids[1]).not.toBe(b);
  });
});

describe.skipIf(!existsSync("/usr/bin/busybox"))("ImageStore with the seeded busybox", () => {
  it("seeds busybox:latest once and lists it", async () => {
    const d1 = await store.ensureBusybox();
    const d2 = await store.ensureBusybox();
    expect(d1).toMatch(/^sha256:/);
    expect(d2).toBe(d1);
    const index = JSON.parse(readFileSync(join(dir, "images/index.json"), "utf8"));
    expect(index.images["docker.io/library/busybox:latest"].digest).toBe(d1);
    const list = await store.list();
    expect(list).toEqual([
      {
        ref: "busybox:latest",
        digest: d1,
        size: expect.any(Number),
        createdAt: "1970-01-01T00:00:00Z",
      },
    ]);
    expect(list[0]!.size).toBeGreaterThan(500_000);
  });

  it("resolves the three spellings and refuses unknown images", async () => {
    const digests = await Promise.all(
      ["busybox", "busybox:latest", "docker.io/library/busybox:latest"].map(
        async (r) => (await store.resolve(r)).digest,
      ),
    );
    expect(new Set(digests).size).toBe(1);
    await expect(store.resolve("alpine:3")).rejects.toMatchObject({
      kind: "not_found",
      message: 'image "alpine:3" not found on this node',
    });
  });

  it("unpacks the layer once into a snapshot and returns it as a lower dir", async () => {
    const img = await store.resolve("busybox");
    const [a, b] = await Promise.all([store.prepareLayers(img), store.prepareLayers(img)]);
    expect(a).toEqual(b);
    expect(a).toHaveLength(1);
    const fs = a[0]!;
    expect(fs).toBe(join(dir, "images/snapshots", img.config.rootfs.diff_ids[0]!.slice(7), "fs"));
    expect(readlinkSync(join(fs, "bin/sh"))).toBe("busybox");
    expect(lstatSync(join(fs, "bin/busybox")).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(fs, "tmp")).mode & 0o7777).toBe(0o1777);
  });
});
