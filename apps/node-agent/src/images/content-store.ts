/**
 * Content-addressed blob store: `<root>/blobs/sha256/<hex>`. Writes are verified against their
 * digest and atomic (temp file + rename), so a blob on disk is always complete and correct.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { DomainError } from "@berth/core";
import { writeFileAtomic, isErrno } from "../sys/fs";
import { DigestSchema, type Digest } from "./oci";

export function sha256Digest(data: Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export class ContentStore {
  constructor(readonly root: string) {}

  blobPath(digest: string): string {
    const d = DigestSchema.parse(digest);
    return join(this.root, "blobs", "sha256", d.slice("sha256:".length));
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
      if (isErrno(e, "ENOENT"))
        throw new DomainError("not_found", `blob ${digest} not found in the content store`);
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
}
