/**
 * COPY/ADD into the step's mounted overlay (so the destination's existing directories,
 * symlinks and copy-up behave as in the image). Every destination path is resolved inside the
 * rootfs (sys/path): a symlink in the image cannot send a copy to the host. Owners are 0:0
 * unless `--chown` (numeric, or names from the image's /etc/passwd and /etc/group; a user
 * without a group uses the uid as gid, as Docker documents); `--chmod` sets the mode of every
 * copied file and directory. Files keep their source mtime (as Docker). ADD unpacks local
 * tar archives through the safe layer unpacker (images/unpack.ts); gzip, bzip2 and xz are
 * decompressed first by `gzip -dc` / `bzip2 -dc` / `xz -dc` into a temp file, then checked to
 * be a tar: a compressed file that is not a tarball is copied as is (Docker's rule).
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import {
  chmod,
  chown,
  copyFile,
  lchown,
  lstat,
  mkdir,
  open,
  rm,
  stat,
  symlink,
  utimes,
} from "node:fs/promises";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { invalidInput } from "@berth/core";
import { resolveUser } from "../../containers/process-config";
import { isErrno } from "../../sys/fs";
import { resolveInRoot } from "../../sys/path";
import { unpackLayer } from "../unpack";
import { detectLocalArchive, planCopy, type ArchiveKind, type ResolvedSource } from "./context";

export interface Owner {
  uid: number;
  gid: number;
}

/** `--chown` value → numeric owner, names resolved in the rootfs. */
export async function resolveChown(rootfs: string, chownSpec: string | undefined): Promise<Owner> {
  if (chownSpec === undefined || chownSpec === "") return { uid: 0, gid: 0 };
  const [u, g] = chownSpec.split(":", 2) as [string, string | undefined];
  const r = await resolveUser(rootfs, chownSpec);
  if (g === undefined || g === "") return { uid: r.uid, gid: r.uid };
  if (u === "") throw invalidInput(`invalid --chown=${chownSpec}`);
  return r;
}

/** Creates `rel`'s missing parents inside the rootfs (0755, owned by `owner`); returns the host dir. */
async function mkdirInRoot(root: string, dir: string, owner: Owner): Promise<string> {
  const parts = dir.split("/").filter((p) => p !== "" && p !== ".");
  let cur = "/";
  for (const p of parts) {
    cur = posix.join(cur, p);
    const host = await resolveInRoot(root, cur);
    const st = await lstat(host).catch((e: unknown) => {
      if (isErrno(e, "ENOENT")) return undefined;
      throw e;
    });
    if (st === undefined) {
      await mkdir(host, { mode: 0o755 });
      await chown(host, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw invalidInput(`cannot copy to ${cur}: it exists in the image and is not a directory`);
    }
  }
  return resolveInRoot(root, dir);
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (e) {
    if (isErrno(e, "ENOENT") || isErrno(e, "ENOTDIR")) return undefined;
    throw e;
  }
}

/** Whether `dest` is an existing directory in the rootfs (symlinks followed inside it). */
export async function existsAsDir(rootfs: string, dest: string): Promise<boolean> {
  const st = await stat(await resolveInRoot(rootfs, dest)).catch(() => undefined);
  return st?.isDirectory() ?? false;
}

/** Copies what `resolved` matched to `dest` in `rootfs` following Docker's placement rules. */
export async function copyInto(
  rootfs: string,
  resolved: ResolvedSource[],
  dest: string,
  destIsDir: boolean,
  owner: Owner,
  chmodBits: number | undefined,
): Promise<void> {
  const ops = planCopy(resolved, dest, destIsDir, await existsAsDir(rootfs, dest));
  // Directories already made or checked by this copy → host path (no walk per file).
  const known = new Map<string, string>();
  for (const op of ops) {
    const dir = posix.dirname(op.dest);
    let parent = known.get(dir);
    if (parent === undefined) {
      parent = await mkdirInRoot(rootfs, dir, owner);
      known.set(dir, parent);
    }
    const name = posix.basename(op.dest);
    const target = name === "" || op.dest === "/" ? parent : join(parent, name);
    const existing = await lstatOrUndefined(target);
    switch (op.type) {
      case "dir": {
        // A destination directory that is a symlink in the image is followed (inside the root).
        const dirTarget = existing?.isSymbolicLink()
          ? await resolveInRoot(rootfs, op.dest)
          : target;
        if (dirTarget !== target && (await existsAsDir(rootfs, op.dest))) {
          if (chmodBits !== undefined) await chmod(dirTarget, chmodBits);
          known.set(op.dest, dirTarget);
          break;
        }
        if (existing?.isDirectory()) {
          if (chmodBits !== undefined) await chmod(target, chmodBits);
        } else {
          if (existing) await rm(target, { recursive: true, force: true });
          await mkdir(target);
          await chown(target, owner.uid, owner.gid);
          await chmod(target, chmodBits ?? op.mode);
        }
        known.set(op.dest, target);
        break;
      }
      case "file": {
        if (existing) await rm(target, { recursive: true, force: true });
        await copyFile(op.hostPath, target);
        await chown(target, owner.uid, owner.gid);
        await chmod(target, chmodBits ?? op.mode);
        const src = await stat(op.hostPath);
        await utimes(target, src.atime, src.mtime);
        break;
      }
      case "symlink": {
        if (existing) await rm(target, { recursive: true, force: true });
        await symlink(op.linkTarget ?? "", target);
        await lchown(target, owner.uid, owner.gid);
        break;
      }
    }
  }
}

async function isTar(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    return bytesRead === 512 && b.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await fh.close();
  }
}

async function decompress(tool: "gzip" | "bzip2" | "xz", src: string, out: string): Promise<void> {
  const child = spawn(tool, ["-dc", src], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d.slice(0, 4096)));
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
  await pipeline(child.stdout, createWriteStream(out, { mode: 0o600 }));
  const code = await exited;
  if (code !== 0) throw invalidInput(`${tool} -dc failed (exit ${code}): ${stderr.trim()}`);
}

/**
 * ADD: local archives among the sources are unpacked into `dest` (a directory), the rest is
 * copied like COPY. `tmpDir` holds decompressed bzip2/xz archives while they are unpacked.
 */
export async function addInto(
  rootfs: string,
  resolved: ResolvedSource[],
  dest: string,
  destIsDir: boolean,
  owner: Owner,
  chmodBits: number | undefined,
  tmpDir: string,
): Promise<void> {
  const plain: ResolvedSource[] = [];
  const archives: { path: string; kind: ArchiveKind }[] = [];
  for (const r of resolved) {
    const keep = [];
    for (const m of r.matches) {
      const kind = m.type === "file" ? await detectLocalArchive(m.entries[0]!.hostPath) : undefined;
      if (kind) archives.push({ path: m.entries[0]!.hostPath, kind });
      else keep.push(m);
    }
    if (keep.length > 0) plain.push({ source: r.source, matches: keep });
  }
  for (const a of archives) {
    let tarPath = a.path;
    let tmp: string | undefined;
    if (a.kind !== "tar") {
      tmp = join(tmpDir, `add-${Date.now()}-${Math.random().toString(16).slice(2)}.tar`);
      await decompress(a.kind, a.path, tmp);
      tarPath = tmp;
    }
    try {
      if (!(await isTar(tarPath))) {
        // A compressed file that is not a tarball is copied as is (Docker's rule).
        plain.push({
          source: a.path,
          matches: [
            {
              path: posix.basename(a.path),
              type: "file",
              entries: [
                {
                  path: "",
                  type: "file",
                  mode: (await stat(a.path)).mode & 0o7777,
                  size: 0,
                  hostPath: a.path,
                },
              ],
            },
          ],
        });
        continue;
      }
      const into = await mkdirInRoot(rootfs, dest, owner);
      await unpackLayer(tarPath, into, { gzip: false });
    } finally {
      if (tmp) await rm(tmp, { force: true });
    }
  }
  if (plain.length > 0)
    await copyInto(rootfs, plain, dest, destIsDir || archives.length > 0, owner, chmodBits);
}
