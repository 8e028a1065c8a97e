/**
 * The registry's storage: content-addressed blobs on disk and per-repository links, laid out as
 * CNCF distribution lays out its filesystem driver:
 *
 *   <root>/blobs/sha256/<aa>/<hex>/data                          every blob (layers, configs, manifests)
 *   <root>/repositories/<name>/_layers/sha256/<hex>/link          blobs the repository may serve
 *   <root>/repositories/<name>/_manifests/revisions/sha256/<hex>/{link,type}   its manifests (+ media type)
 *   <root>/repositories/<name>/_manifests/tags/<tag>/current/link tags → manifest digest
 *   <root>/repositories/<name>/_referrers/sha256/<subject hex>/<hex>.json   referrer descriptors
 *   <root>/uploads/<uuid>/{data,info.json}                        uploads in progress (resumable)
 *
 * Digests are computed while bytes stream to disk; a blob enters `blobs/` only by rename after
 * its digest was checked, so a reader never sees a partial blob. Nothing is held whole in
 * memory except manifests (bounded by MAX_MANIFEST_BYTES). Commits (blob, manifest, mount) and
 * garbage collection are serialised by a read/write lock, and GC spares blobs younger than a
 * grace period, so it never races an upload or a push in progress.
 */
import { createHash, randomUUID, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { RegistryError } from "./registry-errors";

export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface UploadInfo {
  repository: string;
  startedAt: string;
}

export interface UploadStatus {
  uuid: string;
  repository: string;
  /** Bytes received so far. */
  offset: number;
}

export interface BlobInfo {
  digest: string;
  size: number;
  path: string;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface GcResult {
  blobsRemoved: number;
  bytesFreed: number;
  blobsKept: number;
  uploadsRemoved: number;
}

/**
 * A minimal async read/write lock: many commits at once, or one collector. A waiting collector
 * stops new commits from entering, so a steady stream of pushes cannot starve it.
 */
class RwLock {
  private readers = 0;
  private writer = false;
  private writersWaiting = 0;
  private waiting: (() => void)[] = [];

  private wake() {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  async read<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writer || this.writersWaiting > 0)
      await new Promise<void>((r) => this.waiting.push(r));
    this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      this.wake();
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    this.writersWaiting++;
    try {
      while (this.writer || this.readers > 0) await new Promise<void>((r) => this.waiting.push(r));
    } finally {
      this.writersWaiting--;
    }
    this.writer = true;
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.wake();
    }
  }
}

const hexOf = (digest: string) => digest.slice("sha256:".length);

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readLink(p: string): Promise<string | null> {
  try {
    return (await readFile(p, "utf8")).trim();
  } catch {
    return null;
  }
}

async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  await mkdir(join(file, ".."), { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

async function listDir(p: string): Promise<string[]> {
  try {
    return await readdir(p);
  } catch {
    return [];
  }
}

/**
 * Streams `src` into `file` (appending), feeding `hash`; returns the bytes written. Chunks are
 * gathered into one writev per MiB (fewer syscalls than a write per 64 KiB socket read, no copy).
 */
async function appendTo(src: Readable, file: string, hash: Hash, limit?: number): Promise<number> {
  const fh = await open(file, "a");
  let n = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const bufs = pending;
    const total = pendingBytes;
    pending = [];
    pendingBytes = 0;
    const written = (await fh.writev(bufs)).bytesWritten;
    // A short write (rare on files; possible past IOV_MAX buffers): write the rest plainly.
    if (written < total) {
      const rest = Buffer.concat(bufs, total).subarray(written);
      for (let off = 0; off < rest.length;) {
        const { bytesWritten } = await fh.write(rest, off);
        off += bytesWritten;
      }
    }
  };
  try {
    for await (const c of src) {
      const chunk = c as Buffer;
      n += chunk.length;
      if (limit !== undefined && n > limit)
        throw new RegistryError("SIZE_INVALID", "the chunk is larger than its Content-Range");
      hash.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= 1024 * 1024 || pending.length >= 256) await flush();
    }
    await flush();
  } finally {
    await fh.close();
  }
  return n;
}

export class RegistryStorage {
  private readonly lock = new RwLock();
  /** Live hash state per upload; rebuilt from the data file when missing (after a restart). */
  private readonly hashes = new Map<string, { hash: Hash; offset: number }>();
  /** Per-upload serialisation of appends. */
  private readonly uploadQueues = new Map<string, Promise<unknown>>();

  constructor(
    readonly root: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private blobDir(digest: string) {
    const hex = hexOf(digest);
    return join(this.root, "blobs", "sha256", hex.slice(0, 2), hex);
  }
  blobPath(digest: string) {
    return join(this.blobDir(digest), "data");
  }
  private repoDir(name: string) {
    return join(this.root, "repositories", ...name.split("/"));
  }
  private layerLink(name: string, digest: string) {
    return join(this.repoDir(name), "_layers", "sha256", hexOf(digest), "link");
  }
  private revisionDir(name: string, digest: string) {
    return join(this.repoDir(name), "_manifests", "revisions", "sha256", hexOf(digest));
  }
  private tagsDir(name: string) {
    return join(this.repoDir(name), "_manifests", "tags");
  }
  private referrersDir(name: string, subject: string) {
    return join(this.repoDir(name), "_referrers", "sha256", hexOf(subject));
  }
  private uploadDir(uuid: string) {
    if (!UUID_RE.test(uuid))
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", { uuid });
    return join(this.root, "uploads", uuid);
  }

  // ---- blobs -------------------------------------------------------------------------------

  /** A blob the repository may serve (linked there and present), or null. */
  async blob(name: string, digest: string): Promise<BlobInfo | null> {
    if (!(await exists(this.layerLink(name, digest)))) return null;
    const path = this.blobPath(digest);
    try {
      const s = await stat(path);
      return { digest, size: s.size, path };
    } catch {
      return null;
    }
  }

  /** Marks a blob as recently wanted, so a concurrent GC spares it until the manifest arrives. */
  async touch(digest: string): Promise<void> {
    const t = new Date(this.now());
    await utimes(this.blobPath(digest), t, t).catch(() => undefined);
  }

  /** Unlinks a blob from a repository (the bytes go at the next GC if nothing else uses them). */
  async deleteBlob(name: string, digest: string): Promise<boolean> {
    const link = this.layerLink(name, digest);
    if (!(await exists(link))) return false;
    await rm(join(link, ".."), { recursive: true, force: true });
    return true;
  }

  /** Links an existing blob of `from` into `name` (cross-repository mount). */
  async mount(name: string, from: string, digest: string): Promise<BlobInfo | null> {
    return this.lock.read(async () => {
      const src = await this.blob(from, digest);
      if (!src) return null;
      await this.touch(digest);
      await writeAtomic(this.layerLink(name, digest), digest);
      return { ...src };
    });
  }

  // ---- uploads -----------------------------------------------------------------------------

  async startUpload(name: string): Promise<UploadStatus> {
    const uuid = randomUUID();
    const dir = this.uploadDir(uuid);
    await mkdir(dir, { recursive: true });
    const info: UploadInfo = { repository: name, startedAt: new Date(this.now()).toISOString() };
    await writeFile(join(dir, "data"), "");
    await writeFile(join(dir, "info.json"), JSON.stringify(info));
    this.hashes.set(uuid, { hash: createHash("sha256"), offset: 0 });
    return { uuid, repository: name, offset: 0 };
  }

  /** The status of an upload of `name`; BLOB_UPLOAD_UNKNOWN if there is none. */
  async upload(name: string, uuid: string): Promise<UploadStatus> {
    const dir = this.uploadDir(uuid);
    let info: UploadInfo;
    try {
      info = JSON.parse(await readFile(join(dir, "info.json"), "utf8")) as UploadInfo;
    } catch {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", { uuid });
    }
    if (info.repository !== name)
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", { uuid });
    const s = await stat(join(dir, "data")).catch(() => null);
    if (!s)
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", { uuid });
    return { uuid, repository: name, offset: s.size };
  }

  private serialise<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.uploadQueues.get(uuid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.uploadQueues.set(uuid, tail);
    void tail.then(() => {
      if (this.uploadQueues.get(uuid) === tail) this.uploadQueues.delete(uuid);
    });
    return run;
  }

  /** The upload's hash state at its current size, rebuilt by reading the data file if needed. */
  private async hashAt(uuid: string, offset: number): Promise<Hash> {
    const h = this.hashes.get(uuid);
    if (h && h.offset === offset) return h.hash;
    const hash = createHash("sha256");
    if (offset > 0)
      await pipeline(
        createReadStream(join(this.uploadDir(uuid), "data"), { end: offset - 1 }),
        async (src) => {
          for await (const c of src) hash.update(c as Buffer);
        },
      );
    this.hashes.set(uuid, { hash, offset });
    return hash;
  }

  /**
   * Appends a chunk. With `range`, its start must be the current offset (else 416) and the
   * body must be exactly its length.
   */
  async append(
    name: string,
    uuid: string,
    body: Readable,
    range?: { start: number; end: number },
  ): Promise<UploadStatus> {
    return this.serialise(uuid, async () => {
      const st = await this.upload(name, uuid);
      if (range && range.start !== st.offset)
        throw new RegistryError(
          "RANGE_INVALID",
          `the chunk starts at ${range.start}, the upload is at ${st.offset}`,
          { offset: st.offset },
          416,
        );
      const hash = await this.hashAt(uuid, st.offset);
      const file = join(this.uploadDir(uuid), "data");
      const expected = range ? range.end - range.start + 1 : undefined;
      let n: number;
      try {
        n = await appendTo(body, file, hash, expected);
        if (expected !== undefined && n !== expected)
          throw new RegistryError(
            "SIZE_INVALID",
            `the chunk has ${n} bytes, its Content-Range says ${expected}`,
          );
      } catch (e) {
        // Roll back to the last good offset: the client resumes from the Range it is told.
        this.hashes.delete(uuid);
        await truncate(file, st.offset).catch(() => undefined);
        throw e;
      }
      this.hashes.set(uuid, { hash, offset: st.offset + n });
      return { ...st, offset: st.offset + n };
    });
  }

  /**
   * Finishes an upload (with an optional last chunk): checks the digest and moves the data into
   * the blob store, linked into the repository. A wrong digest removes the upload: nothing is
   * stored.
   */
  async complete(
    name: string,
    uuid: string,
    digest: string,
    last?: Readable,
    /** Called with the verified size before the blob is stored; throwing discards the upload. */
    admit?: (size: number) => Promise<void>,
  ): Promise<BlobInfo> {
    return this.serialise(uuid, async () => {
      const st = await this.upload(name, uuid);
      const hash = await this.hashAt(uuid, st.offset);
      const dir = this.uploadDir(uuid);
      let size = st.offset;
      if (last) {
        try {
          size += await appendTo(last, join(dir, "data"), hash);
        } catch (e) {
          this.hashes.delete(uuid);
          await truncate(join(dir, "data"), st.offset).catch(() => undefined);
          throw e;
        }
      }
      this.hashes.delete(uuid);
      const actual = `sha256:${hash.digest("hex")}`;
      if (actual !== digest) {
        await rm(dir, { recursive: true, force: true });
        throw new RegistryError(
          "DIGEST_INVALID",
          "provided digest did not match uploaded content",
          {
            expected: digest,
            actual,
          },
        );
      }
      if (admit) {
        try {
          await admit(size);
        } catch (e) {
          await rm(dir, { recursive: true, force: true });
          throw e;
        }
      }
      return this.lock.read(async () => {
        const target = this.blobPath(digest);
        if (await exists(target)) {
          await this.touch(digest);
          await rm(dir, { recursive: true, force: true });
        } else {
          await mkdir(join(target, ".."), { recursive: true });
          await rename(join(dir, "data"), target);
          await rm(dir, { recursive: true, force: true });
        }
        await writeAtomic(this.layerLink(name, digest), digest);
        return { digest, size, path: target };
      });
    });
  }

  async cancel(name: string, uuid: string): Promise<void> {
    await this.upload(name, uuid);
    this.hashes.delete(uuid);
    await rm(this.uploadDir(uuid), { recursive: true, force: true });
  }

  // ---- manifests ---------------------------------------------------------------------------

  /** Resolves a tag to its manifest digest, or null. */
  async resolveTag(name: string, tag: string): Promise<string | null> {
    return readLink(join(this.tagsDir(name), tag, "current", "link"));
  }

  async manifest(name: string, digest: string): Promise<StoredManifest | null> {
    const dir = this.revisionDir(name, digest);
    const link = await readLink(join(dir, "link"));
    if (link !== digest) return null;
    const mediaType =
      (await readLink(join(dir, "type"))) ?? "application/vnd.oci.image.manifest.v1+json";
    try {
      return { digest, mediaType, bytes: await readFile(this.blobPath(digest)) };
    } catch {
      return null;
    }
  }

  /** Whether the repository has this manifest revision. */
  async hasManifest(name: string, digest: string): Promise<boolean> {
    return (await readLink(join(this.revisionDir(name, digest), "link"))) === digest;
  }

  /**
   * Stores a validated manifest (its references already checked by the caller) and, if `tag`
   * is set, points the tag at it; records it as a referrer of `subject`.
   */
  async putManifest(
    name: string,
    m: StoredManifest,
    tag: string | null,
    referrer?: { subject: string; descriptor: Descriptor },
  ): Promise<void> {
    await this.lock.read(async () => {
      const target = this.blobPath(m.digest);
      if (await exists(target)) await this.touch(m.digest);
      else await writeAtomic(target, m.bytes);
      const dir = this.revisionDir(name, m.digest);
      await writeAtomic(join(dir, "type"), m.mediaType);
      await writeAtomic(join(dir, "link"), m.digest);
      if (referrer)
        await writeAtomic(
          join(this.referrersDir(name, referrer.subject), `${hexOf(m.digest)}.json`),
          JSON.stringify(referrer.descriptor),
        );
      if (tag !== null)
        await writeAtomic(join(this.tagsDir(name), tag, "current", "link"), m.digest);
    });
  }

  /** Deletes a manifest revision and every tag pointing at it. */
  async deleteManifest(name: string, digest: string): Promise<boolean> {
    if (!(await this.hasManifest(name, digest))) return false;
    for (const tag of await listDir(this.tagsDir(name)))
      if ((await this.resolveTag(name, tag)) === digest)
        await rm(join(this.tagsDir(name), tag), { recursive: true, force: true });
    await rm(this.revisionDir(name, digest), { recursive: true, force: true });
    // Remove it from any subject's referrers list.
    const refRoot = join(this.repoDir(name), "_referrers", "sha256");
    for (const s of await listDir(refRoot))
      await rm(join(refRoot, s, `${hexOf(digest)}.json`), { force: true });
    return true;
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    if ((await this.resolveTag(name, tag)) === null) return false;
    await rm(join(this.tagsDir(name), tag), { recursive: true, force: true });
    return true;
  }

  /** Tags of a repository, sorted; null if the repository does not exist. */
  async tags(name: string): Promise<string[] | null> {
    if (
      !(await exists(join(this.repoDir(name), "_manifests"))) &&
      !(await exists(join(this.repoDir(name), "_layers")))
    )
      return null;
    return (await listDir(this.tagsDir(name))).sort();
  }

  /** Each tag with its manifest digest and when it was last pointed there (sorted by tag). */
  async tagDetails(name: string): Promise<{ tag: string; digest: string; pushedAt: Date }[]> {
    const out: { tag: string; digest: string; pushedAt: Date }[] = [];
    for (const tag of (await listDir(this.tagsDir(name))).sort()) {
      const link = join(this.tagsDir(name), tag, "current", "link");
      const digest = await readLink(link);
      const s = await stat(link).catch(() => null);
      if (digest && s) out.push({ tag, digest, pushedAt: s.mtime });
    }
    return out;
  }

  /** Size of a stored blob by digest (whatever repository links it), or null. */
  async blobSize(digest: string): Promise<number | null> {
    const s = await stat(this.blobPath(digest)).catch(() => null);
    return s?.size ?? null;
  }

  /** The descriptors of manifests whose subject is `subject`. */
  async referrers(name: string, subject: string): Promise<Descriptor[]> {
    const dir = this.referrersDir(name, subject);
    const out: Descriptor[] = [];
    for (const f of (await listDir(dir)).sort()) {
      if (!f.endsWith(".json")) continue;
      const d = await readFile(join(dir, f), "utf8").then(
        (t) => JSON.parse(t) as Descriptor,
        () => null,
      );
      if (d && (await this.hasManifest(name, d.digest))) out.push(d);
    }
    return out;
  }

  /** Every repository name, sorted. */
  async repositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string[]) => {
      const entries = await listDir(dir);
      if (entries.includes("_manifests") || entries.includes("_layers")) out.push(prefix.join("/"));
      for (const e of entries) {
        if (e.startsWith("_")) continue;
        const s = await stat(join(dir, e)).catch(() => null);
        if (s?.isDirectory()) await walk(join(dir, e), [...prefix, e]);
      }
    };
    await walk(join(this.root, "repositories"), []);
    return out.sort();
  }

  // ---- garbage collection ------------------------------------------------------------------

  /**
   * Removes blobs no manifest of any repository references (manifests count themselves) and
   * uploads idle for longer than `uploadMaxAgeMs`. Holds the write lock, so no blob commit,
   * manifest push or mount runs during the mark and sweep; blobs modified within `graceMs`
   * (just uploaded, mounted or found by HEAD, their manifest not pushed yet) are kept.
   */
  async collectGarbage(
    opts: { graceMs?: number; uploadMaxAgeMs?: number; dryRun?: boolean } = {},
  ): Promise<GcResult> {
    const graceMs = opts.graceMs ?? 60 * 60 * 1000;
    const uploadMaxAgeMs = opts.uploadMaxAgeMs ?? 24 * 60 * 60 * 1000;
    return this.lock.write(async () => {
      const marked = new Set<string>();
      for (const repo of await this.repositories()) {
        const revRoot = join(this.repoDir(repo), "_manifests", "revisions", "sha256");
        for (const hex of await listDir(revRoot)) {
          const digest = `sha256:${hex}`;
          marked.add(digest);
          let bytes: Buffer;
          try {
            bytes = await readFile(this.blobPath(digest));
          } catch {
            continue;
          }
          for (const d of referencedDigests(bytes)) marked.add(d);
        }
        // Links of blobs that will be swept would dangle: drop them with the blobs below.
      }
      const res: GcResult = { blobsRemoved: 0, bytesFreed: 0, blobsKept: 0, uploadsRemoved: 0 };
      const now = this.now();
      const swept = new Set<string>();
      const blobsRoot = join(this.root, "blobs", "sha256");
      for (const pre of await listDir(blobsRoot)) {
        for (const hex of await listDir(join(blobsRoot, pre))) {
          const digest = `sha256:${hex}`;
          const data = join(blobsRoot, pre, hex, "data");
          const s = await stat(data).catch(() => null);
          if (marked.has(digest) || (s && now - s.mtimeMs < graceMs)) {
            res.blobsKept++;
            continue;
          }
          res.blobsRemoved++;
          res.bytesFreed += s?.size ?? 0;
          swept.add(hex);
          if (!opts.dryRun) await rm(join(blobsRoot, pre, hex), { recursive: true, force: true });
        }
      }
      if (!opts.dryRun && swept.size > 0)
        for (const repo of await this.repositories()) {
          const layers = join(this.repoDir(repo), "_layers", "sha256");
          for (const hex of await listDir(layers))
            if (swept.has(hex)) await rm(join(layers, hex), { recursive: true, force: true });
        }
      for (const uuid of await listDir(join(this.root, "uploads"))) {
        const s = await stat(join(this.root, "uploads", uuid, "data")).catch(() => null);
        if (s && now - s.mtimeMs < uploadMaxAgeMs) continue;
        // Never remove an upload a request is appending to right now.
        if (this.uploadQueues.has(uuid)) continue;
        res.uploadsRemoved++;
        if (!opts.dryRun)
          await rm(join(this.root, "uploads", uuid), { recursive: true, force: true });
      }
      return res;
    });
  }

  /**
   * The unique blobs the repositories hold — linked layers and configs, and manifest revisions —
   * with their sizes (for quotas: a blob shared by several of them counts once).
   */
  async blobSizes(names: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const name of names) {
      const dirs = [
        join(this.repoDir(name), "_layers", "sha256"),
        join(this.repoDir(name), "_manifests", "revisions", "sha256"),
      ];
      for (const d of dirs)
        for (const hex of await listDir(d)) {
          const digest = `sha256:${hex}`;
          if (out.has(digest)) continue;
          const s = await stat(this.blobPath(digest)).catch(() => null);
          if (s) out.set(digest, s.size);
        }
    }
    return out;
  }

  /** Bytes stored for a repository's linked blobs (for quotas and the dashboard). */
  async repositorySize(name: string): Promise<number> {
    let n = 0;
    for (const hex of await listDir(join(this.repoDir(name), "_layers", "sha256"))) {
      const s = await stat(this.blobPath(`sha256:${hex}`)).catch(() => null);
      n += s?.size ?? 0;
    }
    return n;
  }
}

/**
 * The digests a manifest or index keeps alive: config, layers, child manifests. (Its subject
 * does not: a referrer never keeps the image it points at.)
 */
export function referencedDigests(bytes: Buffer): string[] {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString("utf8"));
  } catch {
    return [];
  }
  const out: string[] = [];
  const add = (d: unknown) => {
    if (d && typeof d === "object" && typeof (d as { digest?: unknown }).digest === "string")
      out.push((d as { digest: string }).digest);
  };
  if (m && typeof m === "object") {
    const o = m as Record<string, unknown>;
    add(o.config);
    for (const k of ["layers", "manifests", "blobs"] as const)
      if (Array.isArray(o[k])) for (const d of o[k] as unknown[]) add(d);
  }
  return out;
}
