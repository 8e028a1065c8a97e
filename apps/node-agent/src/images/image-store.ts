/**
 * Images on this node: blobs in the content store, an index of references, and unpacked
 * layer snapshots `<stateDir>/images/snapshots/<chainId>/fs` (one per layer, each holding only
 * its layer's changes; a container's overlay stacks them). Snapshots are unpacked once, into a
 * temp dir renamed into place, so concurrent or interrupted unpacks never expose half a layer.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { DomainError, invalidInput, notFound } from "@berth/core";
import { writeFileAtomic, isErrno } from "../sys/fs";
import { buildBusyboxImage, BUSYBOX_REF } from "./busybox-seed";
import { ContentStore } from "./content-store";
import {
  ImageConfigSchema,
  ImageIndexFileSchema,
  ManifestSchema,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_TAR,
  type ImageConfig,
  type ImageIndexFile,
  type Manifest,
} from "./oci";
import { familiarReference, normalizeReference, parseReference } from "./reference";
import { unpackLayer } from "./unpack";

export interface ImageSummary {
  ref: string;
  digest: string;
  /** Bytes of content: manifest + config + compressed layers. */
  size: number;
  createdAt: string;
}

/** `image inspect`: what the node knows of one image. */
export interface ImageDetails {
  digest: string;
  refs: string[];
  size: number;
  created: string | null;
  architecture: string;
  os: string;
  config: NonNullable<ImageConfig["config"]>;
  layers: { digest: string; size: number; mediaType: string; diffId: string }[];
  history: NonNullable<ImageConfig["history"]>;
}

function shortDigest(digest: string): string {
  return digest.slice("sha256:".length, "sha256:".length + 12);
}

/** Whether a blob file is an image manifest (so the GC can report removed images). */
async function isManifestBlob(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    if (st.size > 4 * 1024 * 1024) return false;
    return ManifestSchema.safeParse(JSON.parse(await readFile(path, "utf8"))).success;
  } catch {
    return false;
  }
}

export interface ResolvedImage {
  ref: string;
  digest: string;
  manifest: Manifest;
  config: ImageConfig;
}

/** chainID per image-spec: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(
      prev === undefined
        ? d
        : `sha256:${createHash("sha256").update(`${prev} ${d}`).digest("hex")}`,
    );
  }
  return out;
}

/**
 * Blobs (by digest) and snapshots (chain id hex) that something other than an image needs —
 * the build cache's layers, a running build's lower dirs — which the GC must not free.
 */
export type GcRootsProvider = () => Promise<{
  blobs: Iterable<string>;
  snapshots: Iterable<string>;
}>;

export class ImageStore {
  readonly content: ContentStore;
  private readonly indexPath: string;
  private readonly snapshotsDir: string;
  private indexWrite: Promise<void> = Promise.resolve();
  private readonly unpacking = new Map<string, Promise<string>>();
  private readonly resolved = new Map<string, ResolvedImage>();
  private readonly leases = new Map<string, number>();
  /** Extra GC roots (the build cache's layers, running builds): see addGcRoots. */
  private readonly gcRoots = new Set<GcRootsProvider>();

  constructor(readonly dir: string) {
    this.content = new ContentStore(dir);
    this.indexPath = join(dir, "index.json");
    this.snapshotsDir = join(dir, "snapshots");
  }

  static async open(stateDir: string): Promise<ImageStore> {
    const s = new ImageStore(join(stateDir, "images"));
    await mkdir(s.snapshotsDir, { recursive: true });
    return s;
  }

  private async readIndex(): Promise<ImageIndexFile> {
    let raw: string;
    try {
      raw = await readFile(this.indexPath, "utf8");
    } catch (e) {
      if (isErrno(e, "ENOENT")) return { version: 1, images: {} };
      throw e;
    }
    const parsed = ImageIndexFileSchema.safeParse(JSON.parse(raw));
    if (!parsed.success)
      throw new DomainError(
        "internal",
        `image index ${this.indexPath} is malformed: ${parsed.error.message}`,
      );
    return parsed.data;
  }

  /** Stores an image's blobs (verified) and points `ref` at it. */
  async importImage(
    ref: string,
    img: { manifest: Buffer; config: Buffer; layers: Buffer[] },
  ): Promise<string> {
    const manifest = ManifestSchema.parse(JSON.parse(img.manifest.toString("utf8")));
    ImageConfigSchema.parse(JSON.parse(img.config.toString("utf8")));
    if (manifest.layers.length !== img.layers.length)
      throw new DomainError("invalid_input", "manifest and layers disagree");
    for (const [i, l] of img.layers.entries())
      await this.content.put(l, manifest.layers[i]!.digest);
    await this.content.put(img.config, manifest.config.digest);
    const digest = await this.content.put(img.manifest);
    await this.tag(ref, digest);
    return digest;
  }

  async tag(ref: string, digest: string): Promise<void> {
    const key = normalizeReference(ref);
    const write = this.indexWrite.then(async () => {
      const index = await this.readIndex();
      index.images[key] = { digest, storedAt: new Date().toISOString() };
      await writeFileAtomic(this.indexPath, JSON.stringify(index, null, 2));
      this.resolved.delete(key);
    });
    this.indexWrite = write.catch(() => undefined);
    await write;
  }

  /** Seeds busybox:latest from the host's static busybox when the index lacks it. */
  async ensureBusybox(busyboxPath = "/usr/bin/busybox"): Promise<string | undefined> {
    const index = await this.readIndex();
    const existing = index.images[BUSYBOX_REF];
    if (existing && (await this.content.has(existing.digest))) return existing.digest;
    try {
      await stat(busyboxPath);
    } catch {
      return undefined;
    }
    return this.importImage(BUSYBOX_REF, await buildBusyboxImage(busyboxPath));
  }

  async list(): Promise<ImageSummary[]> {
    const index = await this.readIndex();
    const out: ImageSummary[] = [];
    for (const [key, entry] of Object.entries(index.images)) {
      const img = await this.load(key, entry.digest);
      const size =
        (await this.content.get(entry.digest)).length +
        img.manifest.config.size +
        img.manifest.layers.reduce((n, l) => n + l.size, 0);
      out.push({
        ref: familiarReference(key),
        digest: entry.digest,
        size,
        createdAt: img.config.created ?? entry.storedAt,
      });
    }
    return out.sort((a, b) => a.ref.localeCompare(b.ref));
  }

  private async load(key: string, digest: string): Promise<ResolvedImage> {
    const cached = this.resolved.get(key);
    if (cached && cached.digest === digest) return cached;
    const manifest = ManifestSchema.parse(
      JSON.parse((await this.content.get(digest)).toString("utf8")),
    );
    const config = ImageConfigSchema.parse(
      JSON.parse((await this.content.get(manifest.config.digest)).toString("utf8")),
    );
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new DomainError(
        "internal",
        `image ${key}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`,
      );
    }
    const r: ResolvedImage = { ref: key, digest, manifest, config };
    this.resolved.set(key, r);
    return r;
  }

  /** Finds an image by reference; DomainError not_found when this node does not have it. */
  async resolve(ref: string): Promise<ResolvedImage> {
    const key = normalizeReference(ref);
    const cached = this.resolved.get(key);
    if (cached) return cached;
    const entry = (await this.readIndex()).images[key];
    if (!entry) throw notFound(`image "${ref}" not found on this node`, { ref });
    return this.load(key, entry.digest);
  }

  /**
   * Finds an image by reference, by manifest digest (`sha256:…`), or by a unique prefix of at
   * least 12 hex digits of it (what `images` shows), as docker accepts image ids.
   */
  async resolveAny(refOrId: string): Promise<ResolvedImage> {
    const id = /^(?:sha256:)?([0-9a-f]{12,64})$/.exec(refOrId)?.[1];
    if (id !== undefined) {
      const index = await this.readIndex();
      const hits = [
        ...new Set(
          Object.values(index.images)
            .map((e) => e.digest)
            .filter((d) => d.slice("sha256:".length).startsWith(id)),
        ),
      ];
      if (hits.length > 1)
        throw new DomainError("conflict", `image id ${refOrId} is ambiguous: use more digits`);
      const digest = hits[0];
      if (digest !== undefined) {
        const key = Object.entries(index.images).find(([, e]) => e.digest === digest)![0];
        return this.load(key, digest);
      }
      if (id.length === 64 && (await this.content.has(`sha256:${id}`)))
        return this.load(`sha256:${id}`, `sha256:${id}`);
    }
    return this.resolve(refOrId);
  }

  /** Every reference (familiar form) that names `digest`, sorted. */
  async refsOf(digest: string): Promise<string[]> {
    const index = await this.readIndex();
    return Object.entries(index.images)
      .filter(([, e]) => e.digest === digest)
      .map(([k]) => familiarReference(k))
      .sort();
  }

  /** The whole picture of one image: its references, manifest, config and layers. */
  async inspect(refOrId: string): Promise<ImageDetails> {
    const img = await this.resolveAny(refOrId);
    const manifestSize = (await this.content.get(img.digest)).length;
    return {
      digest: img.digest,
      refs: await this.refsOf(img.digest),
      size:
        manifestSize +
        img.manifest.config.size +
        img.manifest.layers.reduce((n, l) => n + l.size, 0),
      created: img.config.created ?? null,
      architecture: img.config.architecture,
      os: img.config.os,
      config: img.config.config ?? {},
      layers: img.manifest.layers.map((l, i) => ({
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType,
        diffId: img.config.rootfs.diff_ids[i]!,
      })),
      history: img.config.history ?? [],
    };
  }

  /** `tag SOURCE TARGET`: points TARGET at the image SOURCE names. Returns its digest. */
  async tagImage(source: string, target: string): Promise<string> {
    const img = await this.resolveAny(source);
    const t = parseReference(target);
    if (t.digest !== undefined)
      throw invalidInput(`cannot tag with a digest reference ("${target}"): use NAME[:TAG]`);
    await this.tag(target, img.digest);
    return img.digest;
  }

  /** Removes the reference `ref` from the index; true when it existed. */
  async untag(ref: string): Promise<boolean> {
    const key = normalizeReference(ref);
    let existed = false;
    const write = this.indexWrite.then(async () => {
      const index = await this.readIndex();
      existed = key in index.images;
      if (!existed) return;
      delete index.images[key];
      await writeFileAtomic(this.indexPath, JSON.stringify(index, null, 2));
      this.resolved.delete(key);
    });
    this.indexWrite = write.catch(() => undefined);
    await write;
    return existed;
  }

  /**
   * `rmi`: removes a reference, and the image once nothing names or uses it. `inUse` maps the
   * digests that containers on this node use to those containers' short ids. Without `force`:
   * refuses to remove the last reference of an image a container uses (docker's "must force"),
   * and refuses an image id that several references name. With `force`: untags anyway; blobs a
   * container still uses stay until that container is gone (the GC keeps them).
   */
  async removeImage(
    refOrId: string,
    o: {
      force: boolean;
      inUse: ReadonlyMap<string, string[]>;
      /** Untagged images to keep anyway (held by id on berth-server). */
      keep?: ReadonlySet<string>;
    },
  ): Promise<{ untagged: string[]; deleted: string[] }> {
    const img = await this.resolveAny(refOrId);
    const refs = await this.refsOf(img.digest);
    const byId = /^(?:sha256:)?[0-9a-f]{12,64}$/.test(refOrId);
    const users = o.inUse.get(img.digest) ?? [];
    let targets: string[];
    if (byId) {
      if (refs.length > 1 && !o.force)
        throw new DomainError(
          "conflict",
          `image ${shortDigest(img.digest)} is referenced by ${refs.join(", ")}: remove those references or use --force`,
        );
      targets = refs;
    } else {
      targets = [familiarReference(normalizeReference(refOrId))];
    }
    const last = targets.length >= refs.length;
    if (last && users.length > 0 && !o.force)
      throw new DomainError(
        "conflict",
        `image ${refOrId} (${shortDigest(img.digest)}) is used by container ${users.join(", ")}: remove the container first or use --force`,
      );
    const untagged: string[] = [];
    for (const r of targets) if (await this.untag(r)) untagged.push(r);
    const deleted: string[] = [];
    if ((await this.refsOf(img.digest)).length === 0 && users.length === 0) {
      const gc = await this.collectGarbage(new Set([...o.inUse.keys(), ...(o.keep ?? [])]));
      if (gc.images.includes(img.digest)) deleted.push(img.digest);
    }
    return { untagged, deleted };
  }

  /**
   * `image prune`: the garbage collector. Without `all`, frees what no reference and no
   * container uses (docker's dangling images); with `all`, first untags every image no
   * container uses. Returns what it removed.
   */
  async prune(o: {
    all: boolean;
    inUse: ReadonlySet<string>;
    /** Untagged images to keep anyway (held by id on berth-server); `all` does not untag them. */
    keep?: ReadonlySet<string>;
  }): Promise<{ untagged: string[]; deleted: string[]; reclaimedBytes: number }> {
    const untagged: string[] = [];
    if (o.all) {
      const index = await this.readIndex();
      for (const [key, e] of Object.entries(index.images)) {
        if (o.inUse.has(e.digest)) continue;
        const ref = familiarReference(key);
        if (await this.untag(ref)) untagged.push(ref);
      }
    }
    const gc = await this.collectGarbage(new Set([...o.inUse, ...(o.keep ?? [])]));
    return { untagged, deleted: gc.images, reclaimedBytes: gc.bytes };
  }

  /**
   * Frees every blob and snapshot that no indexed image and no image in `keep` (used by
   * containers) needs. Runs on the index's write queue, so tags cannot change meanwhile; blobs
   * being written (temp files) and snapshots being unpacked (`.tmp-*`) are not touched; images
   * leased by a container being created are kept.
   */
  async collectGarbage(
    keep: ReadonlySet<string>,
  ): Promise<{ images: string[]; blobs: number; snapshots: number; bytes: number }> {
    const result = { images: [] as string[], blobs: 0, snapshots: 0, bytes: 0 };
    const work = this.indexWrite.then(async () => {
      const index = await this.readIndex();
      const roots = new Set<string>([
        ...Object.values(index.images).map((e) => e.digest),
        ...keep,
        ...this.leases.keys(),
      ]);
      const blobs = new Set<string>();
      const snapshots = new Set<string>();
      for (const digest of roots) {
        let manifest: Manifest;
        let config: ImageConfig;
        try {
          manifest = ManifestSchema.parse(
            JSON.parse((await this.content.get(digest)).toString("utf8")),
          );
          config = ImageConfigSchema.parse(
            JSON.parse((await this.content.get(manifest.config.digest)).toString("utf8")),
          );
        } catch {
          // A root whose blobs are missing or unreadable keeps nothing more: skip it.
          blobs.add(digest);
          continue;
        }
        blobs.add(digest);
        blobs.add(manifest.config.digest);
        for (const l of manifest.layers) blobs.add(l.digest);
        for (const c of chainIds(config.rootfs.diff_ids)) snapshots.add(c.slice("sha256:".length));
      }
      for (const provider of this.gcRoots) {
        const extra = await provider();
        for (const b of extra.blobs) blobs.add(b);
        for (const c of extra.snapshots) snapshots.add(c);
      }
      const blobDir = join(this.dir, "blobs", "sha256");
      for (const name of await readdir(blobDir).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{64}$/.test(name) || blobs.has(`sha256:${name}`)) continue;
        const path = join(blobDir, name);
        const size = (await stat(path).catch(() => undefined))?.size ?? 0;
        if (await isManifestBlob(path)) result.images.push(`sha256:${name}`);
        await rm(path, { force: true });
        result.blobs += 1;
        result.bytes += size;
      }
      for (const name of await readdir(this.snapshotsDir).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{64}$/.test(name) || snapshots.has(name)) continue;
        if (this.unpacking.has(`sha256:${name}`)) continue;
        await rm(join(this.snapshotsDir, name), { recursive: true, force: true });
        result.snapshots += 1;
      }
      for (const k of [...this.resolved.keys()])
        if (!roots.has(this.resolved.get(k)!.digest)) this.resolved.delete(k);
    });
    this.indexWrite = work.catch(() => undefined);
    await work;
    result.images.sort();
    return result;
  }

  /** Registers extra GC roots (see GcRootsProvider); returns the unregister function. */
  addGcRoots(provider: GcRootsProvider): () => void {
    this.gcRoots.add(provider);
    return () => void this.gcRoots.delete(provider);
  }

  /**
   * Keeps an image's blobs and snapshots from the GC while a container is being created from
   * it (between `resolve` and the container's record existing). Returns the release function.
   */
  lease(digest: string): () => void {
    this.leases.set(digest, (this.leases.get(digest) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.leases.get(digest) ?? 1) - 1;
      if (n <= 0) this.leases.delete(digest);
      else this.leases.set(digest, n);
    };
  }

  /**
   * Adopts `dir` as the snapshot of `chainId`, moving it (same filesystem): a directory holding
   * a layer's files exactly as unpacking the layer would leave them, in overlay form (a build
   * step's upper dir: whiteouts as 0:0 devices, opaque xattrs). Returns false (and leaves `dir`)
   * when the snapshot already exists or `dir` is on another filesystem; prepareLayers then
   * finds or unpacks it as usual.
   */
  async adoptSnapshot(chainId: string, dir: string): Promise<boolean> {
    const hex = chainId.slice("sha256:".length);
    const dest = join(this.snapshotsDir, hex);
    if (await stat(join(dest, "fs")).catch(() => undefined)) return false;
    const tmp = join(
      this.snapshotsDir,
      `.tmp-${hex.slice(0, 16)}-${randomBytes(6).toString("hex")}`,
    );
    await mkdir(tmp);
    try {
      await rename(dir, join(tmp, "fs"));
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      if (isErrno(e, "EXDEV")) return false;
      throw e;
    }
    try {
      await rename(tmp, dest);
      return true;
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      if (isErrno(e, "ENOTEMPTY") || isErrno(e, "EEXIST")) return false;
      throw e;
    }
  }

  /** Unpacks the image's layers (once) and returns the overlay lower dirs, topmost first. */
  async prepareLayers(img: ResolvedImage): Promise<string[]> {
    const chains = chainIds(img.config.rootfs.diff_ids);
    const dirs = await Promise.all(
      chains.map((chain, i) =>
        this.ensureSnapshot(chain, img.manifest.layers[i]!, img.config.rootfs.diff_ids[i]!),
      ),
    );
    return dirs.reverse();
  }

  private ensureSnapshot(
    chainId: string,
    layer: Manifest["layers"][number],
    diffId: string,
  ): Promise<string> {
    const pending = this.unpacking.get(chainId);
    if (pending) return pending;
    const p = this.unpackSnapshot(chainId, layer, diffId);
    this.unpacking.set(chainId, p);
    // Only in-flight unpacks stay in the map (the GC skips those); a done one is found on disk.
    const done = () => void this.unpacking.delete(chainId);
    p.then(done, done);
    return p;
  }

  private async unpackSnapshot(
    chainId: string,
    layer: Manifest["layers"][number],
    diffId: string,
  ): Promise<string> {
    const hex = chainId.slice("sha256:".length);
    const dir = join(this.snapshotsDir, hex);
    const fs = join(dir, "fs");
    try {
      await stat(fs);
      return fs;
    } catch (e) {
      if (!isErrno(e, "ENOENT")) throw e;
    }
    if (
      layer.mediaType !== MEDIA_TYPE_LAYER_GZIP &&
      layer.mediaType !== MEDIA_TYPE_LAYER_TAR &&
      !layer.mediaType.endsWith(".tar.gzip") &&
      !layer.mediaType.endsWith(".tar")
    ) {
      throw new DomainError("invalid_input", `unsupported layer media type ${layer.mediaType}`);
    }
    const tmp = join(
      this.snapshotsDir,
      `.tmp-${hex.slice(0, 16)}-${randomBytes(6).toString("hex")}`,
    );
    try {
      await mkdir(join(tmp, "fs"), { recursive: true });
      await unpackLayer(this.content.blobPath(layer.digest), join(tmp, "fs"), {
        gzip: layer.mediaType.includes("gzip"),
        expectedDiffId: diffId,
      });
      await rename(tmp, dir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      // Another process finished the same snapshot first: use it.
      if (
        (isErrno(e, "ENOTEMPTY") || isErrno(e, "EEXIST")) &&
        (await stat(fs).catch(() => undefined))
      )
        return fs;
      throw e;
    }
    return fs;
  }
}
