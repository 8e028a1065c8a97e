/**
 * A build step's layer: the overlayfs upper dir of the step, written as an OCI layer tar.
 *
 * - overlayfs marks a deleted lower file with a character device 0:0 in the upper dir: it
 *   becomes an empty `.wh.<name>` entry; a directory that hides everything below it (removed
 *   and re-created) carries `trusted.overlay.opaque=y`: its entry is followed by
 *   `<dir>/.wh..wh..opq`. Node cannot read xattrs, so one `getfattr -R` per layer lists the
 *   opaque directories.
 * - Deterministic for the same upper dir: entries sorted by byte order, parents first, uid/gid
 *   as on disk, no user/group names, the files' own mtimes (what Docker and BuildKit keep, so
 *   mtime-based tools such as make behave in later steps), hard links within the layer kept as
 *   links. gzip without a timestamp. diffID = sha256 of the tar, digest = sha256 of the gzip.
 * - Written to a temp file while hashing (never held in memory), then ingested into the content
 *   store with its digest verified again.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, readdir, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import * as tar from "tar-stream";
import { run } from "../../sys/exec";
import type { ContentStore } from "../content-store";

export interface LayerBlob {
  /** sha256 of the gzip blob. */
  digest: string;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Size of the gzip blob. */
  size: number;
}

/** `getfattr -d` escapes names as `\ooo` octal. */
function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      for (const b of Buffer.from(s[i]!, "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Parses `getfattr -R --absolute-names -d -m trusted.overlay.opaque` output: opaque dirs. */
export function parseOpaqueDirs(output: string): Set<string> {
  const out = new Set<string>();
  let current: string | undefined;
  for (const line of output.split("\n")) {
    if (line.startsWith("# file: ")) current = unescapeGetfattr(line.slice("# file: ".length));
    else if (current !== undefined && /^trusted\.overlay\.opaque="?y"?$/.test(line.trim()))
      out.add(current);
  }
  return out;
}

/** Absolute paths of the directories under `upper` that overlayfs marked opaque. */
export async function opaqueDirs(upper: string): Promise<Set<string>> {
  const r = await run(
    ["getfattr", "-R", "--absolute-names", "-d", "-m", "^trusted\\.overlay\\.opaque$", upper],
    { allowFailure: true },
  );
  if (r.code !== 0 && r.stdout === "")
    throw new Error(`getfattr on ${upper} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return parseOpaqueDirs(r.stdout);
}

function cmpBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** True when `upper` holds no change at all (the step yields no layer). */
export async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

/** Streams the upper dir as a tar into `pack`. */
async function packUpper(upper: string, pack: tar.Pack): Promise<void> {
  const opaque = await opaqueDirs(upper);
  const links = new Map<string, string>();
  const add = (header: Partial<tar.Header> & { name: string }, body?: string | Buffer) =>
    new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body !== undefined) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort(cmpBytes);
    for (const name of names) {
      const abs = join(dir, name);
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = await lstat(abs);
      const base = {
        uid: st.uid,
        gid: st.gid,
        uname: "",
        gname: "",
        mode: st.mode & 0o7777,
        mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
      };
      if (st.isCharacterDevice() && st.rdev === 0) {
        // overlayfs whiteout: the lower file was deleted.
        const wh = rel === "" ? `.wh.${name}` : `${rel}/.wh.${name}`;
        await add({ ...base, name: wh, type: "file", size: 0, mode: 0o600 }, Buffer.alloc(0));
      } else if (st.isDirectory()) {
        await add({ ...base, name: `${path}/`, type: "directory" });
        if (opaque.has(abs))
          await add(
            { ...base, name: `${path}/.wh..wh..opq`, type: "file", size: 0, mode: 0o600 },
            Buffer.alloc(0),
          );
        await walk(abs, path);
      } else if (st.isSymbolicLink()) {
        await add({ ...base, name: path, type: "symlink", linkname: await readlink(abs) });
      } else if (st.isFile()) {
        const ino = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(ino) : undefined;
        if (first !== undefined) {
          await add({ ...base, name: path, type: "link", linkname: first, size: 0 });
          continue;
        }
        if (st.nlink > 1) links.set(ino, path);
        const entry = pack.entry({ ...base, name: path, type: "file", size: st.size });
        await pipeline(createReadStream(abs), entry);
      } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        const rdev = st.rdev;
        await add({
          ...base,
          name: path,
          type: st.isFIFO() ? "fifo" : st.isBlockDevice() ? "block-device" : "character-device",
          devmajor: (rdev >> 8) & 0xfff,
          devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
        });
      }
      // Sockets are not part of a layer (as in Docker).
    }
  };
  await walk(upper, "");
  pack.finalize();
}

/**
 * Writes the layer of `upper` to `tmpFile` (gzip), ingests it into `content` and returns its
 * digests. The temp file is removed.
 */
export async function commitUpperLayer(
  upper: string,
  tmpFile: string,
  content: ContentStore,
): Promise<LayerBlob> {
  const pack = tar.pack();
  const tarHash = createHash("sha256");
  const gzHash = createHash("sha256");
  let size = 0;
  const hashTar = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      tarHash.update(chunk);
      cb(null, chunk);
    },
  });
  const hashGz = new PassThrough();
  hashGz.on("data", (c: Buffer) => {
    gzHash.update(c);
    size += c.length;
  });
  try {
    const writing = pipeline(
      pack,
      hashTar,
      createGzip({ level: 6 }),
      hashGz,
      createWriteStream(tmpFile, { mode: 0o600 }),
    );
    const packing = packUpper(upper, pack).catch((e: unknown) => {
      pack.destroy(e as Error);
      throw e;
    });
    await Promise.all([packing, writing]);
    const digest = `sha256:${gzHash.digest("hex")}`;
    const diffId = `sha256:${tarHash.digest("hex")}`;
    if (!(await content.has(digest))) {
      await content.ingestSettled(digest);
      if (!(await content.has(digest))) {
        const w = await content.ingest(digest, size);
        try {
          await w.reset();
          for await (const chunk of createReadStream(tmpFile)) await w.write(chunk as Buffer);
          await w.commit();
        } catch (e) {
          await w.abort();
          throw e;
        }
      }
    }
    return { digest, diffId, size };
  } finally {
    await rm(tmpFile, { force: true });
  }
}
