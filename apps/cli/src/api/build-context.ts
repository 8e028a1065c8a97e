/**
 * `berth build`'s context: the directory packed as a tar stream, filtered by its
 * `.dockerignore` the way docker's client filters it (the Dockerfile and .dockerignore are
 * always sent), symlinks kept as links (never followed), sockets and devices skipped, entries in
 * a stable order. Streamed from disk; nothing is held whole in memory.
 */
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { pack, type Pack } from "tar-stream";
import { DockerignoreMatcher } from "@berth/core";

export interface PackedContext {
  /** The tar bytes, produced as they are read. */
  stream: AsyncIterable<Buffer>;
  /** Paths left out by `.dockerignore` (for a summary line). */
  excluded: () => number;
  /** Files, directories and links put in. */
  entries: () => number;
  /** Special files (sockets, fifos, devices) skipped. */
  skipped: () => string[];
}

async function ignoreOf(dir: string): Promise<DockerignoreMatcher> {
  try {
    return DockerignoreMatcher.fromText(await readFile(join(dir, ".dockerignore"), "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return new DockerignoreMatcher([]);
    throw e;
  }
}

/** Packs `dir`; `dockerfile` (context-relative) is always included, as docker does. */
export async function packContext(dir: string, dockerfile = "Dockerfile"): Promise<PackedContext> {
  const root = await lstat(dir);
  if (!root.isDirectory()) throw new Error(`the build context ${dir} is not a directory`);
  const ignore = await ignoreOf(dir);
  const always = new Set([posix.normalize(dockerfile), ".dockerignore"]);
  let excluded = 0;
  let entries = 0;
  const skipped: string[] = [];
  const tar: Pack = pack();

  const entry = (header: Parameters<Pack["entry"]>[0], body?: string) =>
    new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body === undefined) tar.entry(header, cb);
      else tar.entry(header, body, cb);
    });

  async function walk(rel: string): Promise<void> {
    const names = (await readdir(rel === "" ? dir : join(dir, rel))).sort();
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const host = join(dir, path);
      const st = await lstat(host);
      const isExcluded = !always.has(path) && ignore.excludes(path);
      if (st.isDirectory()) {
        // An excluded directory is still walked when it holds the Dockerfile (always sent) or
        // an exclusion pattern may re-include something below it.
        const holdsAlways = [...always].some((p) => p.startsWith(`${path}/`));
        if (isExcluded && !holdsAlways && !ignore.mayIncludeBelow(path)) {
          excluded++;
          continue;
        }
        if (!isExcluded || holdsAlways) {
          await entry({
            name: `${path}/`,
            type: "directory",
            mode: st.mode & 0o7777,
            mtime: st.mtime,
            uid: st.uid,
            gid: st.gid,
          });
          entries++;
        }
        await walk(path);
        continue;
      }
      if (isExcluded) {
        excluded++;
        continue;
      }
      const base = {
        name: path,
        mode: st.mode & 0o7777,
        mtime: st.mtime,
        uid: st.uid,
        gid: st.gid,
      };
      if (st.isSymbolicLink()) {
        await entry({ ...base, type: "symlink", linkname: await readlink(host) });
      } else if (st.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const sink = tar.entry({ ...base, type: "file", size: st.size }, (err) =>
            err ? reject(err) : resolve(),
          );
          const src = createReadStream(host);
          src.on("error", (err) => {
            sink.destroy(err);
            reject(err);
          });
          src.pipe(sink);
        });
      } else {
        skipped.push(path);
        continue;
      }
      entries++;
    }
  }

  void walk("").then(
    () => tar.finalize(),
    (err: unknown) => tar.destroy(err as Error),
  );
  return {
    stream: tar as unknown as AsyncIterable<Buffer>,
    excluded: () => excluded,
    entries: () => entries,
    skipped: () => skipped,
  };
}
