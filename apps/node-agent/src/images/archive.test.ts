/**
 * `image import`, `save` and `load` on real stores in temp dirs: a save → load round trip keeps
 * every digest; a docker-archive written by hand loads and unpacks; tampered, truncated and
 * hostile archives are refused with nothing stored or tagged; skopeo reads what `save` writes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importRootfs, loadArchive, saveImages } from "./archive";
import { buildTar } from "./busybox-seed";
import { SKOPEO_BIN } from "./registry/test-helpers/registry-server";
import { sha256Digest } from "./content-store";
import { ImageStore } from "./image-store";

let dir: string;
const stores: ImageStore[] = [];

async function freshStore(): Promise<ImageStore> {
  const s = await ImageStore.open(mkdtempSync(join(dir, "store-")));
  stores.push(s);
  return s;
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A tar of raw entries, names kept exactly as given (hostile ones included). */
async function rawTar(
  entries: { name: string; data?: Buffer; type?: "file" | "symlink" | "link"; linkname?: string }[],
): Promise<Buffer> {
  const pack = tar.pack();
  const out = collect(Readable.from(pack));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if ((e.type ?? "file") === "file")
        pack.entry(
          { name: e.name, mode: 0o644, size: e.data?.length ?? 0 },
          e.data ?? Buffer.alloc(0),
          cb,
        );
      else pack.entry({ name: e.name, type: e.type!, linkname: e.linkname ?? "" }, cb);
    });
  }
  pack.finalize();
  return out;
}

/** Every entry of an archive, name → bytes (files only). */
async function readTar(buf: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  const out = new Map<string, Buffer>();
  Readable.from([buf]).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const e of extract) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    if (e.header.type === "file") out.set(e.header.name, Buffer.concat(chunks));
  }
  return out;
}

async function rootfsTar(text: string): Promise<Buffer> {
  return buildTar([
    { name: "bin/", type: "directory", mode: 0o755 },
    { name: "hello.txt", type: "file", mode: 0o644, data: Buffer.from(text) },
  ]);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-archive-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("importRootfs", () => {
  it("turns a plain tar into a one-layer image with the changes applied", async () => {
    const store = await freshStore();
    const layer = await rootfsTar("imported\n");
    const r = await importRootfs(store, Readable.from([layer]), "example/rootfs:1", {
      changes: { cmd: ["sh"], env: ["A=1"], workdir: "/srv", entrypoint: ["/bin/busybox"] },
    });
    expect(r.ref).toBe("example/rootfs:1");
    const img = await store.resolve("example/rootfs:1");
    expect(img.digest).toBe(r.digest);
    expect(img.config.rootfs.diff_ids).toEqual([sha256Digest(layer)]);
    expect(img.manifest.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(img.config.config).toEqual({
      Cmd: ["sh"],
      Env: ["A=1"],
      WorkingDir: "/srv",
      Entrypoint: ["/bin/busybox"],
    });
    expect(img.config.history).toEqual([
      expect.objectContaining({ created_by: "berth image import" }),
    ]);
    const [fs] = await store.prepareLayers(img);
    expect(readFileSync(join(fs!, "hello.txt"), "utf8")).toBe("imported\n");
  });

  it("detects gzip input and gives the same diff_id", async () => {
    const store = await freshStore();
    const layer = await rootfsTar("gz\n");
    await importRootfs(store, Readable.from([gzipSync(layer)]), "example/gz:latest");
    const img = await store.resolve("example/gz");
    expect(img.config.rootfs.diff_ids).toEqual([sha256Digest(layer)]);
  });

  it.each([
    ["a ../ entry", [{ name: "../evil", data: Buffer.from("x") }], /escapes the root/],
    ["an absolute path", [{ name: "/etc/evil", data: Buffer.from("x") }], /absolute path/],
    [
      "a hard link out of the root",
      [{ name: "ok", type: "link" as const, linkname: "../../etc/passwd" }],
      /escapes the root/,
    ],
  ])("refuses %s and stores nothing", async (_what, entries, message) => {
    const store = await freshStore();
    const bad = await rawTar(entries);
    await expect(importRootfs(store, Readable.from([bad]), "example/bad:1")).rejects.toThrow(
      message,
    );
    expect(await store.content.list()).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it("refuses what is not a tar, a truncated tar and a decompression bomb", async () => {
    const store = await freshStore();
    await expect(
      importRootfs(
        store,
        Readable.from([Buffer.from("hello, not a tar at all".repeat(40))]),
        "x:1",
      ),
    ).rejects.toThrow(/not a valid tar|not a tar/);
    const layer = await rootfsTar("t".repeat(5000));
    await expect(
      importRootfs(store, Readable.from([layer.subarray(0, 1500)]), "x:1"),
    ).rejects.toThrow(/not a valid tar/);
    const bomb = gzipSync(await rootfsTar("0".repeat(1024 * 1024)));
    await expect(
      importRootfs(store, Readable.from([bomb]), "x:1", { limits: { maxLayerBytes: 64 * 1024 } }),
    ).rejects.toThrow(/larger than the limit of 65536 bytes/);
    expect(await store.content.list()).toEqual([]);
  });

  it("fails (does not hang) on corrupt gzip and on an input stream that errors", async () => {
    const store = await freshStore();
    const gz = gzipSync(await rootfsTar("x".repeat(100_000)));
    gz.fill(0x55, 20, gz.length - 20);
    await expect(importRootfs(store, Readable.from([gz]), "x:1")).rejects.toThrow(
      /not a valid tar\.gz/,
    );
    async function* broken() {
      yield (await rootfsTar("y")).subarray(0, 512);
      throw new Error("connection reset");
    }
    await expect(importRootfs(store, Readable.from(broken()), "x:1")).rejects.toThrow(
      /connection reset/,
    );
    expect(await store.content.list()).toEqual([]);
  });
});

describe("save and load", () => {
  let source: ImageStore;
  let saved: Buffer;
  let busyboxDigest: string;
  let appDigest: string;

  beforeAll(async () => {
    source = await freshStore();
    busyboxDigest = (await source.ensureBusybox())!;
    expect(busyboxDigest).toBeDefined();
    appDigest = (await importRootfs(source, Readable.from([await rootfsTar("app\n")]), "app:v1"))
      .digest;
    await source.tagImage("app:v1", "registry.local:5000/team/app:v1");
    saved = await collect(
      await saveImages(source, ["busybox", "app:v1", "registry.local:5000/team/app:v1"]),
    );
  });

  it("writes an OCI layout with docker's manifest.json beside it", async () => {
    const files = await readTar(saved);
    expect(JSON.parse(files.get("oci-layout")!.toString())).toEqual({
      imageLayoutVersion: "1.0.0",
    });
    const index = JSON.parse(files.get("index.json")!.toString()) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    expect(
      index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]),
    ).toEqual([
      "docker.io/library/busybox:latest",
      "docker.io/library/app:v1",
      "registry.local:5000/team/app:v1",
    ]);
    const docker = JSON.parse(files.get("manifest.json")!.toString()) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    expect(docker.map((d) => d.RepoTags)).toEqual([
      ["busybox:latest"],
      ["app:v1", "registry.local:5000/team/app:v1"],
    ]);
    for (const d of docker)
      for (const p of [d.Config, ...d.Layers]) expect(files.has(p)).toBe(true);
    for (const [name, data] of files) {
      const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
      if (m) expect(sha256Digest(data)).toBe(`sha256:${m[1]}`);
    }
  });

  it("round trip: loading into a fresh store gives the same digests and tags", async () => {
    const target = await freshStore();
    const r = await loadArchive(target, Readable.from([saved]));
    expect(r.loaded).toEqual([
      { ref: "busybox:latest", digest: busyboxDigest },
      { ref: "app:v1", digest: appDigest },
      { ref: "registry.local:5000/team/app:v1", digest: appDigest },
    ]);
    expect((await target.list()).map((i) => [i.ref, i.digest])).toEqual([
      ["app:v1", appDigest],
      ["busybox:latest", busyboxDigest],
      ["registry.local:5000/team/app:v1", appDigest],
    ]);
    const [fs] = await target.prepareLayers(await target.resolve("app:v1"));
    expect(readFileSync(join(fs!, "hello.txt"), "utf8")).toBe("app\n");
    // Loading again is idempotent.
    expect((await loadArchive(target, Readable.from([gzipSync(saved)]))).loaded).toHaveLength(3);
  });

  it("refuses a tampered blob and tags nothing", async () => {
    const files = await readTar(saved);
    const app = await source.resolve("app:v1");
    const layerName = `blobs/sha256/${app.manifest.layers[0]!.digest.slice(7)}`;
    const entries = [...files].map(([name, data]) => ({
      name,
      data: name === layerName ? Buffer.concat([data, Buffer.from("x")]) : data,
    }));
    const target = await freshStore();
    await expect(loadArchive(target, Readable.from([await rawTar(entries)]))).rejects.toThrow(
      /does not match its digest/,
    );
    expect(await target.list()).toEqual([]);
    expect(await target.content.list()).toEqual([]);
  });

  it("refuses an archive entry with ../ and one with an absolute path", async () => {
    const files = await readTar(saved);
    for (const bad of ["../escape", "/abs/path"]) {
      const target = await freshStore();
      const entries = [
        { name: bad, data: Buffer.from("x") },
        ...[...files].map(([name, data]) => ({ name, data })),
      ];
      await expect(loadArchive(target, Readable.from([await rawTar(entries)]))).rejects.toThrow(
        /unsafe archive entry/,
      );
      expect(await target.list()).toEqual([]);
    }
  });

  it("refuses a truncated archive", async () => {
    const target = await freshStore();
    await expect(
      loadArchive(target, Readable.from([saved.subarray(0, Math.floor(saved.length / 2))])),
    ).rejects.toThrow(/not a valid tar|lacks|unexpected end/i);
    expect(await target.list()).toEqual([]);
  });

  it("refuses an entry larger than the limit", async () => {
    const target = await freshStore();
    await expect(
      loadArchive(target, Readable.from([saved]), { limits: { maxEntryBytes: 1000 } }),
    ).rejects.toThrow(/more than the limit of 1000/);
  });

  it(
    "skopeo reads the saved archive as oci-archive",
    // Off CI only: in CI a missing skopeo fails the test instead.
    { skip: !existsSync(SKOPEO_BIN) && process.env.CI !== "true" },
    () => {
      const archive = join(dir, "saved.tar");
      writeFileSync(archive, saved);
      const out = join(dir, "skopeo-oci");
      const r = spawnSync(
        SKOPEO_BIN,
        [
          "--insecure-policy",
          "copy",
          `oci-archive:${archive}:registry.local:5000/team/app:v1`,
          `oci:${out}:app`,
        ],
        { encoding: "utf8" },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8")) as {
        manifests: { digest: string }[];
      };
      expect(index.manifests[0]!.digest).toBe(appDigest);
      const inspect = JSON.parse(
        execFileSync(
          SKOPEO_BIN,
          ["inspect", "--raw", `oci-archive:${archive}:docker.io/library/busybox:latest`],
          {
            encoding: "utf8",
          },
        ),
      ) as { layers: unknown[] };
      expect(inspect.layers).toHaveLength(1);
    },
  );
});

describe("docker-archive", () => {
  async function dockerArchive(opts: { gzipLayer?: boolean; badDiffId?: boolean } = {}) {
    const layer = await rootfsTar("from docker\n");
    const config = {
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["cat", "/hello.txt"] },
      rootfs: {
        type: "layers",
        diff_ids: [opts.badDiffId ? sha256Digest(Buffer.from("other")) : sha256Digest(layer)],
      },
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configName = `${sha256Digest(configBytes).slice(7)}.json`;
    const layerData = opts.gzipLayer ? gzipSync(layer) : layer;
    const tarBytes = await rawTar([
      { name: "0123abcd/VERSION", data: Buffer.from("1.0") },
      { name: "0123abcd/layer.tar", data: layerData },
      { name: "4567ef/layer.tar", type: "symlink", linkname: "../0123abcd/layer.tar" },
      { name: configName, data: configBytes },
      {
        name: "manifest.json",
        data: Buffer.from(
          JSON.stringify([
            {
              Config: configName,
              RepoTags: ["example/hand:1", "example/hand:latest"],
              Layers: ["0123abcd/layer.tar"],
            },
          ]),
        ),
      },
      { name: "repositories", data: Buffer.from("{}") },
    ]);
    return { tarBytes, layerData, configBytes };
  }

  it("loads an uncompressed docker-archive as it is, and it unpacks", async () => {
    const store = await freshStore();
    const { tarBytes, layerData, configBytes } = await dockerArchive();
    const r = await loadArchive(store, Readable.from([tarBytes]));
    expect(r.loaded.map((l) => l.ref)).toEqual(["example/hand:1", "example/hand:latest"]);
    const img = await store.resolve("example/hand:1");
    expect(img.manifest.layers[0]).toEqual({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: sha256Digest(layerData),
      size: layerData.length,
    });
    expect(img.manifest.config.digest).toBe(sha256Digest(configBytes));
    const [fs] = await store.prepareLayers(img);
    expect(readFileSync(join(fs!, "hello.txt"), "utf8")).toBe("from docker\n");
  });

  it("loads gzip layers as gzip", async () => {
    const store = await freshStore();
    const { tarBytes } = await dockerArchive({ gzipLayer: true });
    await loadArchive(store, Readable.from([tarBytes]));
    const img = await store.resolve("example/hand:1");
    expect(img.manifest.layers[0]!.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
  });

  it("refuses a layer whose diff_id disagrees with the config, storing nothing", async () => {
    const store = await freshStore();
    const { tarBytes } = await dockerArchive({ badDiffId: true });
    await expect(loadArchive(store, Readable.from([tarBytes]))).rejects.toThrow(
      /does not match the image config/,
    );
    expect(await store.list()).toEqual([]);
    expect(await store.content.list()).toEqual([]);
  });

  it("refuses a layer with a ../ entry inside it", async () => {
    const store = await freshStore();
    const layer = await rawTar([{ name: "../../outside", data: Buffer.from("x") }]);
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: [sha256Digest(layer)] },
      }),
    );
    const archive = await rawTar([
      { name: "l/layer.tar", data: layer },
      { name: "c.json", data: config },
      {
        name: "manifest.json",
        data: Buffer.from(
          JSON.stringify([{ Config: "c.json", RepoTags: ["evil:1"], Layers: ["l/layer.tar"] }]),
        ),
      },
    ]);
    await expect(loadArchive(store, Readable.from([archive]))).rejects.toThrow(/escapes the root/);
    expect(await store.list()).toEqual([]);
  });

  it("refuses a symlink entry pointing out of the archive", async () => {
    const store = await freshStore();
    const archive = await rawTar([
      { name: "l/layer.tar", type: "symlink", linkname: "../../etc/passwd" },
    ]);
    await expect(loadArchive(store, Readable.from([archive]))).rejects.toThrow(
      /links outside the archive/,
    );
  });
});
