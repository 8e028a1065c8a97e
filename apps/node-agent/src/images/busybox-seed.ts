/**
 * The built-in `busybox:latest`: a real single-layer OCI image built from the host's static
 * busybox. Deterministic: entries are sorted, owned by 0:0, dated at the epoch, and gzip
 * carries no timestamp, so the same busybox binary gives the same digests on every host.
 */
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { run } from "../sys/exec";
import { sha256Digest } from "./content-store";
import {
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_MANIFEST,
  type ImageConfig,
  type Manifest,
} from "./oci";

export const BUSYBOX_REF = "docker.io/library/busybox:latest";
export const SEED_EPOCH = new Date(0);
export const IMAGE_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface BuiltImage {
  manifest: Buffer;
  config: Buffer;
  layers: Buffer[];
  manifestDigest: string;
}

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n";
const GROUP = "root:x:0:\nnogroup:x:65534:\n";

type TarEntry =
  | { name: string; type: "directory"; mode: number }
  | { name: string; type: "file"; mode: number; data: Buffer }
  | { name: string; type: "symlink"; linkname: string };

/** Builds the tar (uncompressed) from a list of entries, deterministically. */
export async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on("data", (c: unknown) => chunks.push(c as Buffer));
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  const base = { mtime: SEED_EPOCH, uid: 0, gid: 0, uname: "", gname: "" };
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === "file")
        pack.entry(
          { ...base, name: e.name, type: "file", mode: e.mode, size: e.data.length },
          e.data,
          cb,
        );
      else if (e.type === "directory")
        pack.entry({ ...base, name: e.name, type: "directory", mode: e.mode }, cb);
      else
        pack.entry(
          { ...base, name: e.name, type: "symlink", linkname: e.linkname, mode: 0o777 },
          cb,
        );
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function ociArchitecture(nodeArch: string = process.arch): string {
  const map: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ia32: "386",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
  };
  return map[nodeArch] ?? nodeArch;
}

/** Builds busybox:latest from `busyboxPath` (a static busybox). */
export async function buildBusyboxImage(busyboxPath = "/usr/bin/busybox"): Promise<BuiltImage> {
  const binary = await readFile(busyboxPath);
  const { stdout } = await run([busyboxPath, "--list"]);
  const applets = [...new Set(stdout.split("\n").map((s) => s.trim()))]
    .filter((a) => /^[A-Za-z0-9_.[-]+$/.test(a) && a !== "busybox")
    .sort();
  const version =
    (await run([busyboxPath], { allowFailure: true })).stdout.split("\n")[0]?.trim() ?? "BusyBox";

  const dirs: [string, number][] = [
    ["bin/", 0o755],
    ["dev/", 0o755],
    ["etc/", 0o755],
    ["home/", 0o755],
    ["proc/", 0o555],
    ["root/", 0o700],
    ["sys/", 0o555],
    ["tmp/", 0o1777],
    ["var/", 0o755],
  ];
  const entries: TarEntry[] = [
    ...dirs.map(([name, mode]) => ({ name, type: "directory" as const, mode })),
    { name: "bin/busybox", type: "file", mode: 0o755, data: binary },
    ...applets.map((a) => ({ name: `bin/${a}`, type: "symlink" as const, linkname: "busybox" })),
    { name: "etc/group", type: "file", mode: 0o644, data: Buffer.from(GROUP) },
    { name: "etc/passwd", type: "file", mode: 0o644, data: Buffer.from(PASSWD) },
  ];
  const layerTar = await buildTar(entries);
  const diffId = sha256Digest(layerTar);
  const layer = gzipSync(layerTar, { level: 6 });

  const created = SEED_EPOCH.toISOString().replace(".000Z", "Z");
  const config: ImageConfig = {
    created,
    architecture: ociArchitecture(),
    os: "linux",
    config: { Env: [IMAGE_PATH_ENV], Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created, created_by: `berth: seeded from the host's ${busyboxPath} (${version})` }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: {
      mediaType: MEDIA_TYPE_CONFIG,
      digest: sha256Digest(configBytes),
      size: configBytes.length,
    },
    layers: [{ mediaType: MEDIA_TYPE_LAYER_GZIP, digest: sha256Digest(layer), size: layer.length }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    manifest: manifestBytes,
    config: configBytes,
    layers: [layer],
    manifestDigest: sha256Digest(manifestBytes),
  };
}
