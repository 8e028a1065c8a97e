/**
 * Push: an image from the content store to a registry. For each blob (layers in parallel,
 * bounded; then the config): HEAD — already there → skip; else a cross-repository mount
 * (`POST …/uploads/?mount=<digest>&from=<repo>`) when the caller names repositories of the same
 * registry that hold it; else an upload: POST a session, then one PUT with the whole blob
 * (monolithic) or, above `chunkSize`, PATCH chunks and a closing PUT. Blobs are re-hashed while
 * read, so a corrupted store is never pushed. The manifest goes last (PUT with its own media
 * type) under the tag, then under each extra tag.
 */
import { createHash } from "node:crypto";
import { DomainError } from "@berth/core";
import type { ContentStore } from "../content-store";
import {
  DOCKER_MEDIA_TYPE_MANIFEST,
  ImageIndexSchema,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_MANIFEST,
  ManifestSchema,
  DOCKER_MEDIA_TYPE_MANIFEST_LIST,
  DescriptorSchema,
  type Descriptor,
  type Digest,
} from "../oci";
import { formatReference, parseReference, type ImageReference } from "../reference";
import { RegistryClient, repositoryScope, type RegistryClientOptions } from "./client";
import type { TransferKind, TransferProgress } from "./pull";
import { z } from "zod";

export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;

export interface PushOptions {
  client?: RegistryClient;
  clientOptions?: Omit<RegistryClientOptions, "registry">;
  /** The manifest (or index) to push, from the content store. */
  manifestDigest: string;
  /** Extra tags to point at the same manifest. */
  tags?: string[];
  /** Repositories of the same registry that may hold the blobs (cross-repo mount). */
  mountFrom?: string[];
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 16 MiB). */
  chunkSize?: number;
  concurrency?: number;
  onProgress?: (p: TransferProgress) => void;
  signal?: AbortSignal;
}

export type BlobAction = "exists" | "mounted" | "uploaded";

export interface PushResult {
  ref: string;
  /** The manifest's digest (the registry's `Docker-Content-Digest`, checked). */
  digest: Digest;
  mediaType: string;
  tags: string[];
  blobs: { digest: Digest; size: number; action: BlobAction }[];
  bytesUploaded: number;
}

const AnyManifestSchema = z.object({
  mediaType: z.string().optional(),
  manifests: z.array(DescriptorSchema).optional(),
  config: DescriptorSchema.optional(),
  layers: z.array(DescriptorSchema).optional(),
});

export class Pusher {
  readonly client: RegistryClient;
  private readonly name: string;
  private readonly blobs: PushResult["blobs"] = [];
  private bytesUploaded = 0;

  constructor(
    private readonly store: ContentStore,
    readonly ref: ImageReference,
    private readonly opts: PushOptions,
  ) {
    this.client =
      opts.client ?? new RegistryClient({ ...opts.clientOptions, registry: ref.domain });
    this.name = ref.path;
  }

  private scopes(): string[] {
    const s = [repositoryScope(this.name, "pull,push")];
    for (const from of this.opts.mountFrom ?? [])
      if (from !== this.name) s.push(repositoryScope(from, "pull"));
    return s;
  }

  private progress(p: TransferProgress): void {
    this.opts.onProgress?.(p);
  }

  async push(): Promise<PushResult> {
    const digest = this.opts.manifestDigest as Digest;
    if (this.ref.digest !== undefined && this.ref.digest !== digest)
      throw new DomainError(
        "invalid_input",
        `cannot push ${digest} as ${formatReference(this.ref)}: the reference names another digest`,
      );
    const pushed = await this.pushManifestTree(digest);
    const tags: string[] = [];
    const first = this.ref.tag;
    const extra = (this.opts.tags ?? []).filter((t) => t !== first);
    if (first) {
      await this.putManifest(first, pushed.bytes, pushed.mediaType, digest);
      tags.push(first);
    }
    for (const t of extra) {
      await this.putManifest(t, pushed.bytes, pushed.mediaType, digest);
      tags.push(t);
    }
    if (!first && extra.length === 0)
      await this.putManifest(digest, pushed.bytes, pushed.mediaType, digest);
    return {
      ref: formatReference(this.ref),
      digest,
      mediaType: pushed.mediaType,
      tags,
      blobs: this.blobs,
      bytesUploaded: this.bytesUploaded,
    };
  }

  /** Pushes a manifest's blobs (or an index's manifests, by digest) and returns its bytes. */
  private async pushManifestTree(
    digest: Digest,
    depth = 0,
  ): Promise<{ bytes: Buffer; mediaType: string }> {
    const bytes = await this.store.get(digest);
    const raw = AnyManifestSchema.safeParse(JSON.parse(bytes.toString("utf8")));
    if (!raw.success)
      throw new DomainError("invalid_input", `${digest} is not a manifest: ${raw.error.message}`);
    const isIndex = raw.data.manifests !== undefined;
    const mediaType = raw.data.mediaType ?? (isIndex ? MEDIA_TYPE_INDEX : MEDIA_TYPE_MANIFEST);
    if (isIndex) {
      if (depth > 0) throw new DomainError("invalid_input", "nested indexes are not supported");
      const index = ImageIndexSchema.parse(JSON.parse(bytes.toString("utf8")));
      for (const m of index.manifests) {
        const child = await this.pushManifestTree(m.digest, depth + 1);
        await this.putManifest(m.digest, child.bytes, child.mediaType, m.digest);
      }
      return { bytes, mediaType };
    }
    if (
      mediaType !== MEDIA_TYPE_MANIFEST &&
      mediaType !== DOCKER_MEDIA_TYPE_MANIFEST &&
      mediaType !== DOCKER_MEDIA_TYPE_MANIFEST_LIST
    )
      throw new DomainError("invalid_input", `cannot push media type ${mediaType}`);
    const manifest =
      mediaType === MEDIA_TYPE_MANIFEST
        ? ManifestSchema.parse(JSON.parse(bytes.toString("utf8")))
        : { config: raw.data.config!, layers: raw.data.layers ?? [] };
    if (!manifest.config) throw new DomainError("invalid_input", `${digest} has no config`);
    await this.pushBlobs(manifest.layers, "layer");
    await this.pushBlobs([manifest.config], "config");
    return { bytes, mediaType };
  }

  private async pushBlobs(list: Descriptor[], kind: TransferKind): Promise<void> {
    const unique = [...new Map(list.map((d) => [d.digest, d])).values()];
    const limit = Math.max(1, this.opts.concurrency ?? 3);
    let next = 0;
    let failed: unknown;
    const worker = async () => {
      while (next < unique.length && failed === undefined) {
        const d = unique[next++]!;
        try {
          await this.pushBlob(d, kind);
        } catch (e) {
          failed ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, unique.length) }, worker));
    if (failed !== undefined) throw failed;
  }

  private async pushBlob(d: Descriptor, kind: TransferKind): Promise<void> {
    const size = await this.store.size(d.digest);
    if (size !== d.size)
      throw new DomainError(
        "internal",
        `blob ${d.digest} is ${size} bytes in the store, the manifest says ${d.size}`,
      );
    const what = `blob ${d.digest} of ${this.name}`;
    const head = await this.client.request(`/v2/${this.name}/blobs/${d.digest}`, {
      method: "HEAD",
      scopes: this.scopes(),
      accept: [404],
      what,
      signal: this.opts.signal,
    });
    if (head.status === 200) {
      this.record(d, "exists", kind);
      return;
    }
    let location: string | undefined;
    for (const from of this.opts.mountFrom ?? []) {
      if (from === this.name) continue;
      const res = await this.client.request(
        `/v2/${this.name}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`,
        {
          method: "POST",
          scopes: this.scopes(),
          what: `mount of ${what} from ${from}`,
          signal: this.opts.signal,
        },
      );
      await res.body?.cancel();
      if (res.status === 201) {
        this.record(d, "mounted", kind);
        return;
      }
      // 202: the registry could not mount and opened an upload session instead: use it.
      location = res.headers.get("location") ?? undefined;
      break;
    }
    if (!location) location = await this.startUpload(what);
    await this.upload(d, location, kind, what);
    this.record(d, "uploaded", kind);
  }

  private record(d: Descriptor, action: BlobAction, kind: TransferKind): void {
    this.blobs.push({ digest: d.digest, size: d.size, action });
    this.progress({
      digest: d.digest,
      kind,
      status: action === "uploaded" ? "done" : action,
      done: d.size,
      total: d.size,
    });
  }

  private async startUpload(what: string): Promise<string> {
    const res = await this.client.request(`/v2/${this.name}/blobs/uploads/`, {
      method: "POST",
      scopes: this.scopes(),
      what: `upload of ${what}`,
      signal: this.opts.signal,
    });
    await res.body?.cancel();
    const location = res.headers.get("location");
    if (res.status !== 202 || !location)
      throw new DomainError(
        "unavailable",
        `${this.client.registry}: upload of ${what}: expected 202 with a Location, got ${res.status}`,
      );
    return this.client.url(location);
  }

  private withDigest(location: string, digest: string): string {
    const u = new URL(location, this.client.baseUrl);
    u.searchParams.set("digest", digest);
    return u.toString();
  }

  private async upload(d: Descriptor, location: string, kind: TransferKind, what: string) {
    const chunkSize = Math.max(1024, this.opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
    const hash = createHash("sha256");
    const stream = await this.store.open(d.digest);
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let url = this.client.url(location);
    const monolithic = d.size <= chunkSize;
    const sendChunk = async (chunk: Buffer) => {
      const res = await this.client.request(url, {
        method: "PATCH",
        scopes: this.scopes(),
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
        what: `chunk ${offset} of ${what}`,
        signal: this.opts.signal,
      });
      await res.body?.cancel();
      const next = res.headers.get("location");
      if (next) url = this.client.url(next);
      offset += chunk.length;
      this.bytesUploaded += chunk.length;
      this.progress({ digest: d.digest, kind, status: "uploading", done: offset, total: d.size });
    };
    try {
      for await (const c of stream) {
        const b = c as Buffer;
        hash.update(b);
        pending.push(b);
        pendingBytes += b.length;
        if (!monolithic && pendingBytes >= chunkSize) {
          const all = Buffer.concat(pending);
          pending = [];
          pendingBytes = 0;
          for (let i = 0; i + chunkSize <= all.length; i += chunkSize) {
            await sendChunk(all.subarray(i, i + chunkSize));
          }
          const rest = all.length % chunkSize;
          if (rest) {
            pending = [all.subarray(all.length - rest)];
            pendingBytes = rest;
          }
        }
      }
    } finally {
      stream.destroy();
    }
    const actual = `sha256:${hash.digest("hex")}`;
    if (actual !== d.digest)
      throw new DomainError(
        "internal",
        `blob ${d.digest} is corrupted in the content store (hashes to ${actual}): not pushed`,
      );
    let body: Buffer | undefined;
    if (monolithic) {
      body = Buffer.concat(pending);
    } else if (pendingBytes > 0) {
      await sendChunk(Buffer.concat(pending));
    }
    const res = await this.client.request(this.withDigest(url, d.digest), {
      method: "PUT",
      scopes: this.scopes(),
      headers: body ? { "content-type": "application/octet-stream" } : {},
      body: body ?? Buffer.alloc(0),
      what: `upload of ${what}`,
      signal: this.opts.signal,
    });
    await res.body?.cancel();
    if (body) {
      this.bytesUploaded += body.length;
      this.progress({ digest: d.digest, kind, status: "uploading", done: d.size, total: d.size });
    }
    const stated = res.headers.get("docker-content-digest");
    if (stated && stated !== d.digest)
      throw new DomainError(
        "unavailable",
        `${this.client.registry}: ${what}: the registry stored ${stated}, not ${d.digest}`,
      );
  }

  private async putManifest(
    reference: string,
    bytes: Buffer,
    mediaType: string,
    digest: string,
  ): Promise<void> {
    const what = `manifest ${this.name}:${reference}`;
    const res = await this.client.request(`/v2/${this.name}/manifests/${reference}`, {
      method: "PUT",
      scopes: this.scopes(),
      headers: { "content-type": mediaType },
      body: bytes,
      what,
      signal: this.opts.signal,
    });
    await res.body?.cancel();
    const stated = res.headers.get("docker-content-digest");
    if (stated && stated !== digest)
      throw new DomainError(
        "unavailable",
        `${this.client.registry}: ${what}: the registry computed ${stated}, not ${digest}`,
      );
  }
}

/** Pushes the image `manifestDigest` from `store` to `ref` (its tag, plus `tags`). */
export async function pushImage(
  store: ContentStore,
  ref: string,
  opts: PushOptions,
): Promise<PushResult> {
  return new Pusher(store, parseReference(ref), opts).push();
}
