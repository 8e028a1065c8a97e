/**
 * The registry client against a real CNCF distribution registry (Debian's docker-registry 2.8)
 * on 127.0.0.1, with skopeo as the independent reader/writer. Skipped only when the registry
 * binary is missing outside CI; in CI it must be installed (scripts/setup.sh --test).
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage, buildTar } from "../busybox-seed";
import { ContentStore, sha256Digest } from "../content-store";
import { ImageStore } from "../image-store";
import {
  DOCKER_MEDIA_TYPE_MANIFEST,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_MANIFEST,
  type ImageConfig,
  type Manifest,
} from "../oci";
import { RegistryClient } from "./client";
import { pullImage, type TransferProgress } from "./pull";
import { pushImage } from "./push";
import {
  REGISTRY_BIN,
  SKOPEO_BIN,
  skopeo,
  startRegistry,
  type TestRegistry,
} from "./test-helpers/registry-server";

const IN_CI = process.env.CI === "true" || process.env.CI === "1";
const HAVE = existsSync(REGISTRY_BIN) && existsSync(SKOPEO_BIN) && existsSync("/usr/bin/htpasswd");
const BUSYBOX = "/usr/bin/busybox";
const HAVE_BUSYBOX = existsSync(BUSYBOX);

if (!HAVE && !IN_CI)
  console.warn(
    `registry.integration: skipped — ${REGISTRY_BIN}, ${SKOPEO_BIN} or htpasswd missing (apt-get install docker-registry skopeo apache2-utils)`,
  );

describe("registry test prerequisites", () => {
  it.runIf(IN_CI)("docker-registry, skopeo, htpasswd and busybox are installed in CI", () => {
    expect(HAVE, `${REGISTRY_BIN}, ${SKOPEO_BIN} and htpasswd must be installed in CI`).toBe(true);
    expect(HAVE_BUSYBOX, `${BUSYBOX} must be installed in CI`).toBe(true);
  });
});

const tmpDirs: string[] = [];
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const hex = (d: string) => d.slice("sha256:".length);

/** A content store holding the built-in busybox image; returns its manifest digest. */
async function busyboxStore(): Promise<{
  store: ContentStore;
  digest: string;
  manifest: Manifest;
}> {
  const store = new ContentStore(tmp("berth-reg-cs-"));
  const img = await buildBusyboxImage(BUSYBOX);
  const manifest = JSON.parse(img.manifest.toString()) as Manifest;
  await store.put(img.layers[0]!, manifest.layers[0]!.digest);
  await store.put(img.config, manifest.config.digest);
  const digest = await store.put(img.manifest);
  return { store, digest, manifest };
}

/** Writes an OCI image layout: blobs + index.json (with the given top-level manifests). */
function writeLayout(dir: string, blobs: Buffer[], index: object): void {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const b of blobs) writeFileSync(join(dir, "blobs", "sha256", hex(sha256Digest(b))), b);
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
}

interface BuiltImage {
  manifestBytes: Buffer;
  manifestDigest: string;
  blobs: Buffer[];
  layerDigests: string[];
}

/** A two-layer OCI image: busybox's layer + a layer with /hello.txt; for `arch`. */
async function twoLayerImage(arch = "amd64", text = "hello from skopeo\n"): Promise<BuiltImage> {
  const base = await buildBusyboxImage(BUSYBOX);
  const baseCfg = JSON.parse(base.config.toString()) as ImageConfig;
  const tar2 = await buildTar([
    { name: "hello.txt", type: "file", mode: 0o644, data: Buffer.from(text) },
  ]);
  const layer2 = gzipSync(tar2);
  const config: ImageConfig = {
    ...baseCfg,
    architecture: arch,
    config: { Env: ["PATH=/bin"], Cmd: ["cat", "/hello.txt"] },
    rootfs: { type: "layers", diff_ids: [baseCfg.rootfs.diff_ids[0]!, sha256Digest(tar2)] },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const layers = [base.layers[0]!, layer2];
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: {
      mediaType: MEDIA_TYPE_CONFIG,
      digest: sha256Digest(configBytes),
      size: configBytes.length,
    },
    layers: layers.map((l) => ({
      mediaType: MEDIA_TYPE_LAYER_GZIP,
      digest: sha256Digest(l),
      size: l.length,
    })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    manifestBytes,
    manifestDigest: sha256Digest(manifestBytes),
    blobs: [...layers, configBytes, manifestBytes],
    layerDigests: manifest.layers.map((l) => l.digest),
  };
}

/** Asserts every blob the pull named is in the store and hashes to its digest. */
async function expectAllBlobsVerified(store: ContentStore, digests: string[]): Promise<void> {
  for (const d of digests) {
    const data = await store.get(d); // get() re-hashes
    expect(sha256Digest(data)).toBe(d);
  }
}

function ingestLeftovers(store: ContentStore): string[] {
  const d = join(store.root, "ingest");
  return existsSync(d) ? readdirSync(d) : [];
}

describe.skipIf(!HAVE || !HAVE_BUSYBOX)("registry client against docker-registry 2.8", () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it("pushes the built-in busybox; skopeo reads it back with the same digests", async () => {
    const { store, digest, manifest } = await busyboxStore();
    const progress: TransferProgress[] = [];
    const r = await pushImage(store, `${reg.host}/berth/busybox:1`, {
      manifestDigest: digest,
      tags: ["latest"],
      chunkSize: 256 * 1024, // busybox's layer (~1 MB) goes up in PATCH chunks
      onProgress: (p) => progress.push(p),
    });
    expect(r.digest).toBe(digest);
    expect(r.tags).toEqual(["1", "latest"]);
    expect(r.blobs.map((b) => b.action).sort()).toEqual(["uploaded", "uploaded"]);
    expect(progress.filter((p) => p.status === "uploading").length).toBeGreaterThan(2);

    const inspected = JSON.parse(
      skopeo(["inspect", "--tls-verify=false", `docker://${reg.host}/berth/busybox:latest`]),
    ) as { Digest: string; Layers: string[]; Architecture: string };
    expect(inspected.Digest).toBe(digest);
    expect(inspected.Layers).toEqual([manifest.layers[0]!.digest]);
    expect(inspected.Architecture).toBe("amd64");
    const raw = skopeo([
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${reg.host}/berth/busybox:1`,
    ]);
    expect(sha256Digest(Buffer.from(raw))).toBe(digest);

    const layout = tmp("berth-reg-layout-");
    skopeo([
      "copy",
      "--src-tls-verify=false",
      `docker://${reg.host}/berth/busybox:1`,
      `oci:${layout}:copy`,
    ]);
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    expect(index.manifests[0]!.digest).toBe(digest);
    for (const d of [manifest.config.digest, manifest.layers[0]!.digest]) {
      const b = readFileSync(join(layout, "blobs/sha256", hex(d)));
      expect(createHash("sha256").update(b).digest("hex")).toBe(hex(d));
    }

    // Again to the same repo: every blob exists. To another repo: cross-repo mount.
    const again = await pushImage(store, `${reg.host}/berth/busybox:1`, { manifestDigest: digest });
    expect(again.blobs.map((b) => b.action)).toEqual(["exists", "exists"]);
    const mounted = await pushImage(store, `${reg.host}/other/bb:v1`, {
      manifestDigest: digest,
      mountFrom: ["berth/busybox"],
    });
    expect(mounted.blobs.map((b) => b.action)).toEqual(["mounted", "mounted"]);
    expect(mounted.bytesUploaded).toBe(0);
  });

  it("pulls OCI and Docker schema2 images that skopeo copied in, verifying every blob", async () => {
    const img = await twoLayerImage();
    const layout = tmp("berth-reg-src-");
    writeLayout(layout, img.blobs, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_INDEX,
      manifests: [
        {
          mediaType: MEDIA_TYPE_MANIFEST,
          digest: img.manifestDigest,
          size: img.manifestBytes.length,
          annotations: { "org.opencontainers.image.ref.name": "v1" },
        },
      ],
    });
    skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${layout}:v1`,
      `docker://${reg.host}/team/app:oci`,
    ]);
    skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--format",
      "v2s2",
      `oci:${layout}:v1`,
      `docker://${reg.host}/team/app:v2s2`,
    ]);

    // OCI, as-is.
    const stateDir = tmp("berth-reg-images-");
    const images = new ImageStore(stateDir);
    const progress: TransferProgress[] = [];
    const oci = await pullImage(images.content, `${reg.host}/team/app:oci`, {
      onProgress: (p) => progress.push(p),
    });
    expect(oci.manifestDigest).toBe(img.manifestDigest);
    expect(oci.registryDigest).toBe(img.manifestDigest);
    expect(oci.convertedFrom).toBeUndefined();
    expect(oci.platform).toBe("linux/amd64");
    expect(oci.layers.map((l) => l.digest)).toEqual(img.layerDigests);
    await expectAllBlobsVerified(images.content, [
      ...img.layerDigests,
      oci.configDescriptor.digest,
      oci.manifestDigest,
    ]);
    const doneLayers = progress.filter((p) => p.kind === "layer" && p.status === "done");
    expect(doneLayers.map((p) => p.digest).sort()).toEqual([...img.layerDigests].sort());
    expect(progress.every((p) => p.done <= p.total)).toBe(true);

    // Docker schema2: converted to OCI (blobs identical), the original kept.
    const cs2 = new ContentStore(tmp("berth-reg-cs2-"));
    const v2 = await pullImage(cs2, `${reg.host}/team/app:v2s2`);
    expect(v2.sourceMediaType).toBe(DOCKER_MEDIA_TYPE_MANIFEST);
    expect(v2.convertedFrom?.mediaType).toBe(DOCKER_MEDIA_TYPE_MANIFEST);
    expect(v2.registryDigest).not.toBe(img.manifestDigest);
    expect(v2.manifest.mediaType).toBe(MEDIA_TYPE_MANIFEST);
    expect(v2.layers.map((l) => l.digest)).toEqual(img.layerDigests);
    expect(v2.layers.every((l) => l.mediaType === MEDIA_TYPE_LAYER_GZIP)).toBe(true);
    await expectAllBlobsVerified(cs2, [
      ...img.layerDigests,
      v2.configDescriptor.digest,
      v2.manifestDigest,
      v2.registryDigest,
    ]);

    // The image store records the pull by tagging the OCI manifest digest; it then resolves
    // and unpacks it like any local image.
    await images.tag(`${reg.host}/team/app:oci`, oci.manifestDigest);
    const resolved = await images.resolve(`${reg.host}/team/app:oci`);
    expect(resolved.config.config?.Cmd).toEqual(["cat", "/hello.txt"]);
    const lowers = await images.prepareLayers(resolved);
    expect(readFileSync(join(lowers[0]!, "hello.txt"), "utf8")).toBe("hello from skopeo\n");
    expect(existsSync(join(lowers[1]!, "bin/busybox"))).toBe(true);

    // Pulling again downloads nothing: one HEAD names a manifest the store already has.
    const headOnly = new RegistryClient({ registry: reg.host });
    const again = await pullImage(images.content, `${reg.host}/team/app:oci`, { client: headOnly });
    expect(again.bytesDownloaded).toBe(0);
    expect(again.manifestDigest).toBe(oci.manifestDigest);
    expect(headOnly.stats.requests).toBe(1);

    // Two pulls at once into one store share the downloads (no conflict, each blob once).
    const shared = new ContentStore(tmp("berth-reg-cs-shared-"));
    const [p1, p2] = await Promise.all([
      pullImage(shared, `${reg.host}/team/app:oci`),
      pullImage(shared, `${reg.host}/team/app:v2s2`),
    ]);
    expect(img.layerDigests.length).toBe(2);
    expect(p1.bytesDownloaded + p2.bytesDownloaded).toBe(
      oci.layers.reduce((n, l) => n + l.size, 0) + oci.configDescriptor.size,
    );
    await expectAllBlobsVerified(shared, [
      ...img.layerDigests,
      p1.manifestDigest,
      p2.manifestDigest,
    ]);
  });

  it("picks linux/amd64 out of a multi-platform index (and arm64 when asked)", async () => {
    const amd = await twoLayerImage("amd64", "amd64\n");
    const arm = await twoLayerImage("arm64", "arm64\n");
    const layout = tmp("berth-reg-multi-");
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_INDEX,
      manifests: [
        {
          mediaType: MEDIA_TYPE_MANIFEST,
          digest: arm.manifestDigest,
          size: arm.manifestBytes.length,
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        },
        {
          mediaType: MEDIA_TYPE_MANIFEST,
          digest: amd.manifestDigest,
          size: amd.manifestBytes.length,
          platform: { os: "linux", architecture: "amd64" },
        },
      ],
    };
    const indexBytes = Buffer.from(JSON.stringify(index));
    writeLayout(layout, [...amd.blobs, ...arm.blobs, indexBytes], {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_INDEX,
      manifests: [
        {
          mediaType: MEDIA_TYPE_INDEX,
          digest: sha256Digest(indexBytes),
          size: indexBytes.length,
          annotations: { "org.opencontainers.image.ref.name": "multi" },
        },
      ],
    });
    skopeo([
      "copy",
      "--all",
      "--dest-tls-verify=false",
      `oci:${layout}:multi`,
      `docker://${reg.host}/team/multi:1`,
    ]);

    const cs = new ContentStore(tmp("berth-reg-cs3-"));
    const r = await pullImage(cs, `${reg.host}/team/multi:1`);
    expect(r.indexDigest).toBe(sha256Digest(indexBytes));
    expect(r.registryDigest).toBe(sha256Digest(indexBytes));
    expect(r.manifestDigest).toBe(amd.manifestDigest);
    expect(r.platform).toBe("linux/amd64");
    expect(await cs.has(arm.layerDigests[1]!)).toBe(false); // the arm64 layer was not fetched

    const armPull = await pullImage(
      new ContentStore(tmp("berth-reg-cs4-")),
      `${reg.host}/team/multi:1`,
      {
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      },
    );
    expect(armPull.manifestDigest).toBe(arm.manifestDigest);
    await expect(
      pullImage(new ContentStore(tmp("berth-reg-cs5-")), `${reg.host}/team/multi:1`, {
        platform: { os: "linux", architecture: "s390x" },
      }),
    ).rejects.toThrow(
      /no image for linux\/s390x in the index \(it has: linux\/arm64\/v8, linux\/amd64\)/,
    );
  });

  it("a pull by digest uses local content only when the registry has that manifest there", async () => {
    // The node holds an image (another team's) that this repository never had.
    const { store, digest } = await busyboxStore();
    await expect(pullImage(store, `${reg.host}/elsewhere/x@${digest}`)).rejects.toMatchObject({
      kind: "not_found",
    });
    // Once the registry has it there, the pull is served from the local store.
    await pushImage(store, `${reg.host}/elsewhere/x:1`, { manifestDigest: digest });
    const progress: TransferProgress[] = [];
    const r = await pullImage(store, `${reg.host}/elsewhere/x@${digest}`, {
      onProgress: (p) => progress.push(p),
    });
    expect(r.manifestDigest).toBe(digest);
    expect(progress.filter((p) => p.status === "downloading")).toEqual([]);
  });

  it("reports an unknown tag or repository as not_found", async () => {
    const cs = new ContentStore(tmp("berth-reg-cs6-"));
    await expect(pullImage(cs, `${reg.host}/berth/busybox:nope`)).rejects.toMatchObject({
      kind: "not_found",
      message: expect.stringMatching(/MANIFEST_UNKNOWN/),
    });
    await expect(pullImage(cs, `${reg.host}/no/such:1`)).rejects.toMatchObject({
      kind: "not_found",
    });
    expect(await cs.list()).toEqual([]);
  });

  describe("hostile registry content", () => {
    let proxy: Server | undefined;
    afterEach(async () => {
      await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
      proxy = undefined;
    });

    it("refuses a blob whose content does not match its digest and commits nothing", async () => {
      const img = await twoLayerImage("amd64", "tamper me\n");
      const layout = tmp("berth-reg-tamper-");
      writeLayout(layout, img.blobs, {
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MEDIA_TYPE_MANIFEST,
            digest: img.manifestDigest,
            size: img.manifestBytes.length,
            annotations: { "org.opencontainers.image.ref.name": "t" },
          },
        ],
      });
      skopeo([
        "copy",
        "--dest-tls-verify=false",
        `oci:${layout}:t`,
        `docker://${reg.host}/team/tampered:1`,
      ]);
      // Same size, different bytes, in the registry's own storage.
      const target = img.layerDigests[1]!;
      const path = reg.blobDataPath(target);
      const data = readFileSync(path);
      data[data.length - 5] = data[data.length - 5]! ^ 0xff;
      writeFileSync(path, data);

      const cs = new ContentStore(tmp("berth-reg-cs7-"));
      await expect(pullImage(cs, `${reg.host}/team/tampered:1`)).rejects.toMatchObject({
        kind: "invalid_input",
        message: expect.stringMatching(/digest mismatch.*refused, nothing stored/),
      });
      expect(await cs.has(target)).toBe(false);
      expect(await cs.has(img.manifestDigest)).toBe(false);
      expect(ingestLeftovers(cs)).toEqual([]);
    });

    /** A proxy to the registry that cuts blob bodies after `keep` bytes `times` times. */
    async function cuttingProxy(
      times: number,
      keep = 1000,
    ): Promise<{ host: string; cuts: () => number }> {
      let cuts = 0;
      proxy = createServer((req, res) => {
        const up = httpRequest(
          {
            host: "127.0.0.1",
            port: reg.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            const isBlob = /\/blobs\/sha256:/.test(req.url ?? "") && req.method === "GET";
            const big = Number(upRes.headers["content-length"] ?? 0) > keep * 2;
            if (isBlob && big && cuts < times) {
              cuts++;
              let sent = 0;
              upRes.on("data", (c: Buffer) => {
                if (sent >= keep) return;
                const part = c.subarray(0, keep - sent);
                sent += part.length;
                res.write(part, () => {
                  if (sent >= keep) {
                    upRes.destroy();
                    res.socket?.destroy();
                  }
                });
              });
            } else upRes.pipe(res);
          },
        );
        up.on("error", () => res.destroy());
        req.pipe(up);
      });
      await new Promise<void>((r) => proxy!.listen(0, "127.0.0.1", () => r()));
      return { host: `127.0.0.1:${(proxy.address() as AddressInfo).port}`, cuts: () => cuts };
    }

    it("refuses a truncated download after its retries, committing nothing", async () => {
      const { host } = await cuttingProxy(Number.MAX_SAFE_INTEGER);
      const cs = new ContentStore(tmp("berth-reg-cs8-"));
      const { manifest } = await busyboxStore();
      await expect(
        pullImage(cs, `${host}/berth/busybox:1`, { clientOptions: { retryBaseMs: 10 } }),
      ).rejects.toMatchObject({
        kind: "unavailable",
        message: expect.stringMatching(/download truncated .* of \d+ bytes.*nothing stored/),
      });
      expect(await cs.has(manifest.layers[0]!.digest)).toBe(false);
      expect(ingestLeftovers(cs)).toEqual([]);
      expect((await cs.list()).length).toBeLessThanOrEqual(1); // at most the small config
    });

    it("resumes a cut download with a Range request", async () => {
      const { host, cuts } = await cuttingProxy(1);
      const cs = new ContentStore(tmp("berth-reg-cs9-"));
      const { manifest } = await busyboxStore();
      const r = await pullImage(cs, `${host}/berth/busybox:1`);
      expect(cuts()).toBe(1);
      expect(r.bytesDownloaded).toBe(manifest.layers[0]!.size + manifest.config.size);
      await expectAllBlobsVerified(cs, [manifest.layers[0]!.digest]);
    });
  });
});

describe.skipIf(!HAVE || !HAVE_BUSYBOX)("registry authentication", () => {
  it("Basic: pushes and pulls with the password, refuses a wrong one with a clear 401", async () => {
    const reg = await startRegistry({ basic: { user: "alice", password: "s3cret-pw" } });
    try {
      const { store, digest } = await busyboxStore();
      const good = { credential: { username: "alice", password: "s3cret-pw" } };
      await pushImage(store, `${reg.host}/priv/bb:1`, {
        manifestDigest: digest,
        clientOptions: good,
      });
      const cs = new ContentStore(tmp("berth-reg-auth-"));
      const r = await pullImage(cs, `${reg.host}/priv/bb:1`, { clientOptions: good });
      expect(r.manifestDigest).toBe(digest);

      await expect(
        pullImage(new ContentStore(tmp("berth-reg-auth2-")), `${reg.host}/priv/bb:1`, {
          clientOptions: { credential: { username: "alice", password: "wrong" } },
        }),
      ).rejects.toMatchObject({
        kind: "unauthenticated",
        message: expect.stringMatching(/credentials of "alice" were refused \(401/),
      });
      await expect(
        pullImage(new ContentStore(tmp("berth-reg-auth3-")), `${reg.host}/priv/bb:1`),
      ).rejects.toMatchObject({
        kind: "unauthenticated",
        message: expect.stringMatching(/log in/),
      });
    } finally {
      await reg.stop();
    }
  });

  it("Bearer: token flow with scopes, tokens cached per scope, wrong password refused", async () => {
    const reg = await startRegistry({ token: { user: "bob", password: "tok-pw" } });
    try {
      const { store, digest } = await busyboxStore();
      const client = new RegistryClient({
        registry: reg.host,
        credential: { username: "bob", password: "tok-pw" },
      });
      const pushed = await pushImage(store, `${reg.host}/team/bb:1`, {
        manifestDigest: digest,
        client,
      });
      expect(pushed.blobs.map((b) => b.action)).toEqual(["uploaded", "uploaded"]);
      // One token for the push scope, reused for every request of the push.
      expect(client.stats.tokenFetches).toBe(1);
      expect(reg.token!.requests.at(-1)).toEqual({
        user: "bob",
        scopes: ["repository:team/bb:pull,push"],
      });

      const cs = new ContentStore(tmp("berth-reg-tok-"));
      const r = await pullImage(cs, `${reg.host}/team/bb:1`, { client });
      expect(r.manifestDigest).toBe(digest);
      expect(client.stats.tokenFetches).toBe(2); // + one for the pull scope
      expect(reg.token!.requests.at(-1)?.scopes).toEqual(["repository:team/bb:pull"]);

      await expect(
        pullImage(new ContentStore(tmp("berth-reg-tok2-")), `${reg.host}/team/bb:1`, {
          clientOptions: { credential: { username: "bob", password: "nope" } },
        }),
      ).rejects.toMatchObject({
        kind: "unauthenticated",
        message: expect.stringMatching(/token service.*refused/),
      });
      // Anonymous: the token server grants no access, the registry answers 401.
      await expect(
        pullImage(new ContentStore(tmp("berth-reg-tok3-")), `${reg.host}/team/bb:1`),
      ).rejects.toMatchObject({ kind: "unauthenticated" });
    } finally {
      await reg.stop();
    }
  });
});
