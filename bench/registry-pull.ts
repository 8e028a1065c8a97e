/**
 * bench/registry-pull: pull (and pull + unpack) of a ~100 MB, 4-layer gzip image from a local
 * CNCF distribution registry (docker-registry on 127.0.0.1) with Berth's registry client,
 * against `skopeo copy` to an OCI layout (+ `tar -xzf` of its layers), in the same run.
 * Also times Berth's push of the image. Needs docker-registry, skopeo and htpasswd
 * (scripts/setup.sh --test); no root.
 *
 *   node --import tsx bench/registry-pull.ts [--runs 3] [--mb 100]
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { buildTar, buildBusyboxImage } from "../apps/node-agent/src/images/busybox-seed";
import { ContentStore, sha256Digest } from "../apps/node-agent/src/images/content-store";
import { ImageStore } from "../apps/node-agent/src/images/image-store";
import {
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_MANIFEST,
  type ImageConfig,
  type Manifest,
} from "../apps/node-agent/src/images/oci";
import { pullImage } from "../apps/node-agent/src/images/registry/pull";
import { pushImage } from "../apps/node-agent/src/images/registry/push";
import {
  skopeo,
  startRegistry,
} from "../apps/node-agent/src/images/registry/test-helpers/registry-server";
import { median } from "./lib";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "3" }, mb: { type: "string", default: "100" } },
});
const runs = Number(values.runs);
const mb = Number(values.mb);

const work = mkdtempSync(join(tmpdir(), "berth-bench-reg-"));
const reg = await startRegistry();
try {
  // The image: busybox's layer + 4 layers of incompressible data (so gzip size ≈ mb).
  const store = new ContentStore(join(work, "src"));
  const base = await buildBusyboxImage();
  const baseCfg = JSON.parse(base.config.toString()) as ImageConfig;
  const layers: Buffer[] = [base.layers[0]!];
  const diffIds = [baseCfg.rootfs.diff_ids[0]!];
  for (let i = 0; i < 4; i++) {
    const t = await buildTar([
      {
        name: `data${i}.bin`,
        type: "file",
        mode: 0o644,
        data: randomBytes(Math.round((mb * 1024 * 1024) / 4)),
      },
    ]);
    diffIds.push(sha256Digest(t));
    layers.push(gzipSync(t, { level: 1 }));
  }
  const cfg = Buffer.from(
    JSON.stringify({ ...baseCfg, rootfs: { type: "layers", diff_ids: diffIds } }),
  );
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: sha256Digest(cfg), size: cfg.length },
    layers: layers.map((l) => ({
      mediaType: MEDIA_TYPE_LAYER_GZIP,
      digest: sha256Digest(l),
      size: l.length,
    })),
  };
  for (const l of layers) await store.put(l);
  await store.put(cfg);
  const mBytes = Buffer.from(JSON.stringify(manifest));
  const digest = await store.put(mBytes);
  const total = layers.reduce((n, l) => n + l.length, 0);
  const ref = `${reg.host}/bench/big:1`;

  let t = performance.now();
  await pushImage(store, ref, { manifestDigest: digest });
  const pushS = (performance.now() - t) / 1000;

  const berthPull: number[] = [];
  const berthPullUnpack: number[] = [];
  const skopeoCopy: number[] = [];
  const skopeoCopyUnpack: number[] = [];
  for (let r = 0; r < runs; r++) {
    const d1 = join(work, `b${r}`);
    t = performance.now();
    const images = new ImageStore(d1);
    mkdirSync(join(d1, "snapshots"), { recursive: true });
    const res = await pullImage(images.content, ref);
    berthPull.push(performance.now() - t);
    await images.tag(ref, res.manifestDigest);
    await images.prepareLayers(await images.resolve(ref));
    berthPullUnpack.push(performance.now() - t);
    rmSync(d1, { recursive: true, force: true });

    const d2 = join(work, `s${r}`);
    t = performance.now();
    skopeo(["copy", "--src-tls-verify=false", `docker://${ref}`, `oci:${d2}:x`]);
    skopeoCopy.push(performance.now() - t);
    for (const l of manifest.layers) {
      const out = join(d2, "rootfs", l.digest.slice(7, 19));
      mkdirSync(out, { recursive: true });
      const x = spawnSync("tar", ["-xzf", join(d2, "blobs/sha256", l.digest.slice(7)), "-C", out]);
      if (x.status !== 0) throw new Error(`tar failed: ${x.stderr.toString()}`);
    }
    skopeoCopyUnpack.push(performance.now() - t);
    rmSync(d2, { recursive: true, force: true });
  }
  const mbs = (ms: number) => (total / 1024 / 1024 / (ms / 1000)).toFixed(0);
  const row = (name: string, xs: number[]) =>
    console.log(
      `${name.padEnd(34)} median ${(median(xs) / 1000).toFixed(2)} s  (${mbs(median(xs))} MB/s)  runs: ${xs.map((x) => (x / 1000).toFixed(2)).join(" ")}`,
    );
  console.log(
    `image: ${layers.length} layers, ${(total / 1024 / 1024).toFixed(1)} MB gzip; registry ${reg.host}; ${runs} runs`,
  );
  console.log(
    `berth push (first, all uploaded)   ${pushS.toFixed(2)} s  (${mbs(pushS * 1000)} MB/s)`,
  );
  row("berth pull", berthPull);
  row("skopeo copy → oci layout", skopeoCopy);
  row("berth pull + unpack", berthPullUnpack);
  row("skopeo copy + tar -xzf", skopeoCopyUnpack);
  console.log(`(leftover dirs: ${readdirSync(work).join(" ") || "none"})`);
} finally {
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
}
