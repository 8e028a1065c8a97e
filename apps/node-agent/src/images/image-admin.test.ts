/**
 * Image management on a real store in a temp dir: tag, inspect, rmi (with docker's refusals),
 * prune and the garbage collector, with the seeded busybox image plus a second image built here
 * on top of its layer (shared snapshot) with one extra layer of its own.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Digest } from "./content-store";
import { ImageStore, chainIds } from "./image-store";
import { MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_MANIFEST } from "./oci";

let dir: string;
let store: ImageStore;
let busybox: string;

/** busybox's layer + one layer holding /hello.txt with `text`. */
async function buildAppImage(text: string): Promise<Parameters<ImageStore["importImage"]>[1]> {
  const base = await store.resolve("busybox");
  const src = mkdtempSync(join(tmpdir(), "berth-layer-"));
  try {
    writeFileSync(join(src, "hello.txt"), text);
    const layer = execFileSync("tar", [
      "-C",
      src,
      "--owner=0",
      "--group=0",
      "--mtime=@0",
      "-cf",
      "-",
      "hello.txt",
    ]);
    const baseLayer = base.manifest.layers[0]!;
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Cmd: ["cat", "/hello.txt"] },
        rootfs: { type: "layers", diff_ids: [base.config.rootfs.diff_ids[0], sha256Digest(layer)] },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE_MANIFEST,
        config: { mediaType: MEDIA_TYPE_CONFIG, digest: sha256Digest(config), size: config.length },
        layers: [
          baseLayer,
          { mediaType: MEDIA_TYPE_LAYER_TAR, digest: sha256Digest(layer), size: layer.length },
        ],
      }),
    );
    return {
      manifest,
      config,
      layers: [await store.content.get(baseLayer.digest), layer],
    };
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

const blobs = () => readdirSync(join(dir, "images/blobs/sha256")).sort();
const snapshots = () =>
  readdirSync(join(dir, "images/snapshots"))
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "berth-image-admin-"));
  mkdirSync(dir, { recursive: true });
  store = await ImageStore.open(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync("/usr/bin/busybox"))("image management", () => {
  beforeAll(async () => {
    busybox = (await store.ensureBusybox())!;
  });

  it("tags an image under a second name and by id prefix; inspect lists both", async () => {
    expect(await store.tagImage("busybox", "registry.local:5000/team/bb:v1")).toBe(busybox);
    expect(await store.tagImage(busybox.slice(7, 19), "bb2")).toBe(busybox);
    const d = await store.inspect("bb2");
    expect(d.digest).toBe(busybox);
    expect(d.refs).toEqual(["bb2:latest", "busybox:latest", "registry.local:5000/team/bb:v1"]);
    expect(d.layers).toHaveLength(1);
    expect(d.layers[0]!.diffId).toMatch(/^sha256:/);
    expect(d.os).toBe("linux");
    await expect(store.tagImage("busybox", "bb@sha256:" + "a".repeat(64))).rejects.toMatchObject({
      kind: "invalid_input",
    });
    await expect(store.inspect("nope:1")).rejects.toMatchObject({ kind: "not_found" });
  });

  it("rmi by id refuses several references without force; a tag is just untagged", async () => {
    await expect(
      store.removeImage(busybox, { force: false, inUse: new Map() }),
    ).rejects.toMatchObject({ kind: "conflict", message: expect.stringContaining("--force") });
    const before = blobs();
    expect(await store.removeImage("bb2", { force: false, inUse: new Map() })).toEqual({
      untagged: ["bb2:latest"],
      deleted: [],
    });
    expect(
      await store.removeImage("registry.local:5000/team/bb:v1", { force: false, inUse: new Map() }),
    ).toEqual({
      untagged: ["registry.local:5000/team/bb:v1"],
      deleted: [],
    });
    expect(blobs()).toEqual(before);
    await expect(store.resolve("bb2")).rejects.toMatchObject({ kind: "not_found" });
  });

  it("refuses to remove the last reference of an image a container uses, unless forced; the GC keeps its blobs", async () => {
    const app = await store.importImage("app:1", await buildAppImage("one"));
    await store.prepareLayers(await store.resolve("app:1"));
    const inUse = new Map([[app, ["0123456789ab"]]]);
    await expect(store.removeImage("app:1", { force: false, inUse })).rejects.toMatchObject({
      kind: "conflict",
      message: expect.stringContaining("used by container 0123456789ab"),
    });
    const forced = await store.removeImage("app:1", { force: true, inUse });
    expect(forced).toEqual({ untagged: ["app:1"], deleted: [] });
    // Untagged but used: still loadable by id, blobs and both snapshots kept.
    expect((await store.resolveAny(app)).digest).toBe(app);
    await store.collectGarbage(new Set([app]));
    expect(blobs()).toContain(app.slice(7));
    const img = await store.resolveAny(app);
    for (const c of chainIds(img.config.rootfs.diff_ids)) expect(snapshots()).toContain(c.slice(7));
    // Once no container uses it, the GC frees the app's own blobs and snapshot, not busybox's.
    const gc = await store.collectGarbage(new Set());
    expect(gc.images).toEqual([app]);
    expect(gc.blobs).toBe(3); // manifest, config, its own layer
    expect(gc.snapshots).toBe(1);
    expect(blobs()).not.toContain(app.slice(7));
    expect((await store.resolve("busybox")).digest).toBe(busybox);
    const bb = await store.resolve("busybox");
    expect(snapshots()).toContain(chainIds(bb.config.rootfs.diff_ids)[0]!.slice(7));
    expect(readFileSync(join(dir, "images/index.json"), "utf8")).not.toContain("app");
  });

  it("rmi of the last reference deletes the image; prune -a spares images containers use", async () => {
    const two = await store.importImage("app:2", await buildAppImage("two"));
    expect(await store.removeImage("app:2", { force: false, inUse: new Map() })).toEqual({
      untagged: ["app:2"],
      deleted: [two],
    });
    const three = await store.importImage("app:3", await buildAppImage("three"));
    const pruned = await store.prune({ all: true, inUse: new Set([busybox]) });
    expect(pruned.untagged).toEqual(["app:3"]);
    expect(pruned.deleted).toEqual([three]);
    expect(pruned.reclaimedBytes).toBeGreaterThan(0);
    expect((await store.list()).map((i) => i.ref)).toEqual(["busybox:latest"]);
  });

  it("rmi and prune keep the untagged images they are told to (held by id by another team)", async () => {
    const held = await store.importImage("app:5", await buildAppImage("five"));
    await store.untag("app:5"); // another team's name moved on: the image is held by id only
    const six = await store.importImage("app:6", await buildAppImage("six"));
    const keep = new Set([held]);
    expect(await store.removeImage("app:6", { force: false, inUse: new Map(), keep })).toEqual({
      untagged: ["app:6"],
      deleted: [six],
    });
    expect(blobs()).toContain(held.slice(7));
    const pruned = await store.prune({ all: false, inUse: new Set(), keep });
    expect(pruned.deleted).toEqual([]);
    expect((await store.resolveAny(held)).digest).toBe(held);
    // Without it, the untagged image is dangling: the collector frees it.
    expect((await store.prune({ all: false, inUse: new Set() })).deleted).toEqual([held]);
  });

  it("a lease keeps an image through the GC while a container is being created", async () => {
    const four = await store.importImage("app:4", await buildAppImage("four"));
    const release = store.lease(four);
    await store.untag("app:4");
    expect((await store.collectGarbage(new Set())).images).toEqual([]);
    expect(blobs()).toContain(four.slice(7));
    release();
    expect((await store.collectGarbage(new Set())).images).toEqual([four]);
  });
});
