/**
 * Safe layer unpacking. A layer is untrusted input: entries may try `../../etc/passwd`,
 * absolute paths, symlinks planted to redirect later entries, or hard links to host files.
 * Every entry is checked, parent directories are resolved inside the root (symlinks are
 * followed only within it), the final component is never followed, device nodes are skipped,
 * and OCI whiteouts become overlayfs whiteouts. The uncompressed stream is hashed and must
 * match the layer's diff_id.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, chown, lchown, link, lstat, mkdir, rm, symlink, utimes } from "node:fs/promises";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import { DomainError } from "@berth/core";
import { run } from "../sys/exec";
import { isErrno } from "../sys/fs";
import { resolveInRoot } from "../sys/path";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_WHITEOUT = ".wh..wh..opq";

/**
 * Default ceilings of one layer: what it may expand to and how many entries it may hold. A
 * small gzip can inflate without end (a decompression bomb); past a limit the unpack stops
 * with a clear error and the half-written snapshot is discarded by the caller.
 */
export const MAX_LAYER_BYTES = 64 * 1024 ** 3;
export const MAX_LAYER_ENTRIES = 4_000_000;

export interface UnpackResult {
  /** sha256 of the uncompressed tar, `sha256:<hex>`. */
  diffId: string;
  entries: number;
  skipped: string[];
}

/** Validates a tar entry name and returns it as a clean relative path ("" for the root). */
export function cleanEntryName(name: string): string {
  if (name.includes("\0"))
    throw new DomainError(
      "invalid_input",
      `layer entry name contains NUL: ${JSON.stringify(name)}`,
    );
  if (name.startsWith("/"))
    throw new DomainError("invalid_input", `layer entry has an absolute path: ${name}`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes(".."))
    throw new DomainError("invalid_input", `layer entry escapes the root: ${name}`);
  return parts.join("/");
}

const IS_ROOT = process.getuid?.() === 0;

/** Ownership from the layer; an unprivileged unpack (tests, tools) keeps the current owner. */
async function own(path: string, uid: number, gid: number, isLink: boolean): Promise<void> {
  if (!IS_ROOT) return;
  await (isLink ? lchown(path, uid, gid) : chown(path, uid, gid));
}

async function removeExisting(path: string, keepDir: boolean): Promise<void> {
  try {
    const st = await lstat(path);
    if (keepDir && st.isDirectory()) return;
    await rm(path, { recursive: true, force: true });
  } catch (e) {
    if (!isErrno(e, "ENOENT")) throw e;
  }
}

/**
 * Unpacks a gzip (or plain, `gzip: false`) tar layer from `layerPath` into `root`, which must
 * exist. Throws DomainError invalid_input on unsafe entries or a diff_id mismatch.
 */
export async function unpackLayer(
  layerPath: string,
  root: string,
  opts: { gzip: boolean; expectedDiffId?: string; maxBytes?: number; maxEntries?: number },
): Promise<UnpackResult> {
  const maxBytes = opts.maxBytes ?? MAX_LAYER_BYTES;
  const maxEntries = opts.maxEntries ?? MAX_LAYER_ENTRIES;
  const extract = tar.extract();
  const hash = createHash("sha256");
  const skipped: string[] = [];
  let entries = 0;
  const source = createReadStream(layerPath);
  const gunzip = opts.gzip ? createGunzip() : undefined;
  const hashed = gunzip ?? source;
  let expanded = 0;
  hashed.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    expanded += chunk.length;
    if (expanded > maxBytes)
      extract.destroy(
        new DomainError(
          "invalid_input",
          `layer expands past ${maxBytes} bytes (the limit of one layer): refused as a decompression bomb`,
        ),
      );
  });
  const feeding = gunzip ? pipeline(source, gunzip, extract) : pipeline(source, extract);
  feeding.catch(() => {
    /* surfaced through the iterator below */
  });

  const dirModes: { path: string; mode: number }[] = [];
  for await (const entry of extract) {
    entries++;
    if (entries > maxEntries) {
      entry.resume();
      extract.destroy();
      throw new DomainError("invalid_input", `layer has more than ${maxEntries} entries`);
    }
    const h = entry.header;
    const rel = cleanEntryName(h.name);
    try {
      if (rel === "") {
        entry.resume();
        continue;
      }
      const parentRel = posix.dirname(rel);
      const base = posix.basename(rel);
      // Parents resolved inside the root: a symlink planted earlier cannot redirect us out.
      const parent = parentRel === "." ? root : await resolveInRoot(root, parentRel);
      await mkdir(parent, { recursive: true });
      const target = join(parent, base);

      if (base === OPAQUE_WHITEOUT) {
        await run(["setfattr", "-n", "trusted.overlay.opaque", "-v", "y", parent]);
        entry.resume();
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const hidden = join(parent, base.slice(WHITEOUT_PREFIX.length));
        await removeExisting(hidden, false);
        await run(["mknod", "-m", "000", hidden, "c", "0", "0"]);
        entry.resume();
        continue;
      }

      const mode = (h.mode ?? 0o644) & 0o7777;
      const uid = h.uid ?? 0;
      const gid = h.gid ?? 0;
      switch (h.type) {
        case "directory": {
          await removeExisting(target, true);
          await mkdir(target, { recursive: true });
          await own(target, uid, gid, false);
          dirModes.push({ path: target, mode });
          entry.resume();
          break;
        }
        case "file":
        case "contiguous-file": {
          await removeExisting(target, false);
          await pipeline(entry, createWriteStream(target, { flags: "wx", mode: 0o600 }));
          await own(target, uid, gid, false);
          await chmod(target, mode);
          if (h.mtime) await utimes(target, h.mtime, h.mtime);
          break;
        }
        case "symlink": {
          await removeExisting(target, false);
          // The link target is stored as is: it is only ever followed inside the container
          // or through resolveInRoot.
          await symlink(h.linkname ?? "", target);
          await own(target, uid, gid, true);
          entry.resume();
          break;
        }
        case "link": {
          const linkRel = cleanEntryName(h.linkname ?? "");
          if (linkRel === "")
            throw new DomainError("invalid_input", `hard link ${rel} has an empty target`);
          const source = join(
            await resolveInRoot(root, posix.dirname(linkRel)),
            posix.basename(linkRel),
          );
          const st = await lstat(source).catch(() => undefined);
          if (!st || st.isDirectory()) {
            throw new DomainError(
              "invalid_input",
              `hard link ${rel} points to a missing file or a directory: ${h.linkname}`,
            );
          }
          await removeExisting(target, false);
          await link(source, target);
          entry.resume();
          break;
        }
        default: {
          // character/block devices, fifos and unknown types: skipped (the runtime provides /dev)
          skipped.push(`${rel} (${h.type})`);
          entry.resume();
        }
      }
    } catch (e) {
      entry.resume();
      extract.destroy();
      throw e;
    }
  }
  await feeding;
  // Directory modes last: a read-only directory must not stop its own entries from unpacking.
  for (const d of dirModes.reverse()) await chmod(d.path, d.mode);

  const diffId = `sha256:${hash.digest("hex")}`;
  if (opts.expectedDiffId !== undefined && opts.expectedDiffId !== diffId) {
    throw new DomainError(
      "invalid_input",
      `layer diff_id mismatch: expected ${opts.expectedDiffId}, got ${diffId}`,
    );
  }
  return { diffId, entries, skipped };
}
