/**
 * Content-addressed blob store: `<root>/blobs/sha256/<hex>`. Writes are verified against their
 * digest and atomic (temp file + rename), so a blob on disk is always complete and correct.
 *
 * Two ways in:
 * - `put(bytes, expected?)` for small blobs held in memory (manifests, configs, seeded layers);
 * - `ingest(expected, size?)` for streams (registry downloads): a writer that appends to
 *   `<root>/ingest/<hex>`, hashes while writing, and on `commit()` checks size and digest, fsyncs
 *   and renames into place. A mismatch deletes the temp file and throws; nothing is left behind.
 *   An ingest abandoned by a crash (its temp file still there) is resumed: the writer re-hashes
 *   what is on disk and reports its `offset`, so a download can continue with an HTTP Range
 *   request — or call `reset()` to start over.
 * Lifecycle of a blob: ingest (temp) → commit (verified, renamed) → read (`get`, `open`) →
 * `delete` (by a future garbage collector, which walks `list()`).
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  type FileHandle,
} from "node:fs/promises";
import { join } from "node:path";
import { DomainError, conflict } from "@berth/core";
import { writeFileAtomic, isErrno } from "../sys/fs";
import { DigestSchema, type Digest } from "./oci";

export function sha256Digest(data: Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A streaming write into the store; see `ContentStore.ingest`. */
export interface BlobWriter {
  readonly digest: Digest;
  /** Bytes written so far (including bytes resumed from an abandoned temp file). */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Discards what was written so far and starts again at offset 0. */
  reset(): Promise<void>;
  /** Verifies size and digest, then moves the blob into place. Idempotent for an existing blob. */
  commit(): Promise<Digest>;
  /** Stops and deletes the temp file (no-op after commit). */
  abort(): Promise<void>;
}

export class ContentStore {
  /**
   * Digests with an ingest open in this process (a second writer for one digest is refused;
   * `ingestSettled` lets a second downloader wait for the first instead).
   */
  private readonly ingesting = new Map<string, { done: Promise<void>; settle: () => void }>();

  constructor(readonly root: string) {}

  blobPath(digest: string): string {
    const d = DigestSchema.parse(digest);
    return join(this.root, "blobs", "sha256", d.slice("sha256:".length));
  }

  private ingestPath(digest: Digest): string {
    return join(this.root, "ingest", digest.slice("sha256:".length));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch (e) {
      if (isErrno(e, "ENOENT")) return false;
      throw e;
    }
  }

  /** Size in bytes of a stored blob; not_found when absent. */
  async size(digest: string): Promise<number> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (e) {
      if (isErrno(e, "ENOENT")) throw missing(digest);
      throw e;
    }
  }

  /** Stores `data`; when `expected` is given the content must hash to it. Returns the digest. */
  async put(data: Uint8Array, expected?: string): Promise<Digest> {
    const digest = sha256Digest(data);
    if (expected !== undefined && expected !== digest) {
      throw new DomainError(
        "invalid_input",
        `blob digest mismatch: expected ${expected}, got ${digest}`,
      );
    }
    if (await this.has(digest)) return digest;
    await mkdir(join(this.root, "blobs", "sha256"), { recursive: true });
    await writeFileAtomic(this.blobPath(digest), data, 0o644);
    return digest;
  }

  /** Reads a blob and checks its digest (a corrupted store is reported, not used). */
  async get(digest: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.blobPath(digest));
    } catch (e) {
      if (isErrno(e, "ENOENT")) throw missing(digest);
      throw e;
    }
    const actual = sha256Digest(data);
    if (actual !== digest)
      throw new DomainError(
        "internal",
        `blob ${digest} is corrupted on disk (hashes to ${actual})`,
      );
    return data;
  }

  /**
   * A read stream over a stored blob (for large layers). It is not re-hashed while read: the
   * blob was verified when it was written; readers that need certainty hash what they read.
   */
  async open(digest: string, opts: { start?: number; end?: number } = {}): Promise<ReadStream> {
    const path = this.blobPath(digest);
    const fh = await open(path, "r").catch((e: unknown) => {
      throw isErrno(e, "ENOENT") ? missing(digest) : e;
    });
    return createReadStream("", { fd: fh, start: opts.start, end: opts.end });
  }

  /** Removes a blob; false when it was not there. The caller decides it is unreferenced. */
  async delete(digest: string): Promise<boolean> {
    try {
      await rm(this.blobPath(digest));
      return true;
    } catch (e) {
      if (isErrno(e, "ENOENT")) return false;
      throw e;
    }
  }

  /** Every stored blob's digest (temp files of unfinished ingests excluded). */
  async list(): Promise<Digest[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, "blobs", "sha256"));
    } catch (e) {
      if (isErrno(e, "ENOENT")) return [];
      throw e;
    }
    return names
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => `sha256:${n}`)
      .sort();
  }

  /**
   * Opens a streaming writer for the blob `expected` (optionally of `expectedSize` bytes).
   * Writing past `expectedSize` fails at once; `commit()` verifies both. A temp file left by an
   * earlier, abandoned ingest of the same digest is resumed (see `offset`).
   */
  async ingest(expected: string, expectedSize?: number): Promise<BlobWriter> {
    const digest = DigestSchema.parse(expected);
    if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0))
      throw new DomainError("invalid_input", `invalid blob size ${expectedSize} for ${digest}`);
    if (this.ingesting.has(digest))
      throw conflict(`blob ${digest} is already being written`, { digest });
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    this.ingesting.set(digest, { done, settle });
    try {
      await mkdir(join(this.root, "ingest"), { recursive: true });
      await mkdir(join(this.root, "blobs", "sha256"), { recursive: true });
      const tmp = this.ingestPath(digest);
      const fh = await open(tmp, "a+", 0o644);
      const hash = createHash("sha256");
      let offset = 0;
      // Resume: re-hash what an abandoned ingest left (too long → start over).
      const existing = (await fh.stat()).size;
      if (existing > 0 && (expectedSize === undefined || existing <= expectedSize)) {
        const s = createReadStream("", { fd: fh, autoClose: false, start: 0 });
        for await (const chunk of s) hash.update(chunk as Buffer);
        offset = existing;
      } else if (existing > 0) {
        await fh.truncate(0);
      }
      return new FileBlobWriter(this, digest, expectedSize, tmp, fh, hash, offset);
    } catch (e) {
      this.release(digest);
      throw e;
    }
  }

  /** Resolves when no ingest of `digest` is open in this process (at once if none is). */
  async ingestSettled(digest: string): Promise<void> {
    await this.ingesting.get(digest)?.done;
  }

  /** @internal called by the writer when it is done, committed or not. */
  release(digest: string): void {
    this.ingesting.get(digest)?.settle();
    this.ingesting.delete(digest);
  }
}

function missing(digest: string): DomainError {
  return new DomainError("not_found", `blob ${digest} not found in the content store`, {
    digest,
  });
}

class FileBlobWriter implements BlobWriter {
  private done = false;

  constructor(
    private readonly store: ContentStore,
    readonly digest: Digest,
    private readonly expectedSize: number | undefined,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private hash: Hash,
    public offset: number,
  ) {}

  private assertOpen(): void {
    if (this.done) throw new DomainError("internal", `ingest of ${this.digest} already finished`);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.expectedSize !== undefined && this.offset + chunk.length > this.expectedSize) {
      await this.abort();
      throw new DomainError(
        "invalid_input",
        `blob ${this.digest} is larger than its declared size ${this.expectedSize}`,
        { digest: this.digest, expectedSize: this.expectedSize },
      );
    }
    let written = 0;
    while (written < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, written, chunk.length - written);
      written += bytesWritten;
    }
    this.hash.update(chunk);
    this.offset += chunk.length;
  }

  async reset(): Promise<void> {
    this.assertOpen();
    await this.fh.truncate(0);
    this.hash = createHash("sha256");
    this.offset = 0;
  }

  async commit(): Promise<Digest> {
    this.assertOpen();
    const actual = `sha256:${this.hash.digest("hex")}`;
    const size = this.offset;
    try {
      if (this.expectedSize !== undefined && size !== this.expectedSize)
        throw new DomainError(
          "invalid_input",
          `blob ${this.digest} is truncated or oversized: ${size} bytes, expected ${this.expectedSize}`,
          { digest: this.digest, size, expectedSize: this.expectedSize },
        );
      if (actual !== this.digest)
        throw new DomainError(
          "invalid_input",
          `blob digest mismatch: expected ${this.digest}, got ${actual}`,
          { digest: this.digest, actual },
        );
      await this.fh.sync();
      await this.fh.close();
      await rename(this.tmp, this.store.blobPath(this.digest));
      this.finish();
      return this.digest;
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.finish();
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }

  private finish(): void {
    this.done = true;
    this.store.release(this.digest);
  }
}
