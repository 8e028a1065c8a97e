/**
 * Images on this node: blobs in the content store, an index of references, and unpacked
 * layer snapshots `<stateDir>/images/snapshots/<chainId>/fs` (one per layer, each holding only
 * its layer's changes; a container's overlay stacks them). Snapshots are unpacked once, into a
 * temp dir renamed into place, so concurrent or interrupted unpacks never expose half a layer.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { DomainError, notFound } from "@berth/core";
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
import { familiarReference, normalizeReference } from "./reference";
import { unpackLayer } from "./unpack";

export interface ImageSummary {
  ref: string;
  digest: string;
  /** Bytes of content: manifest + config + compressed layers. */
  size: number;
  createdAt: string;
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

export class ImageStore {
  readonly content: ContentStore;
  private readonly indexPath: string;
  private readonly snapshotsDir: string;
  private indexWrite: Promise<void> = Promise.resolve();
  private readonly unpacking = new Map<string, Promise<string>>();
  private readonly resolved = new Map<string, ResolvedImage>();

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
    p.catch(() => this.unpacking.delete(chainId));
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
