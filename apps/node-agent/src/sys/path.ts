/**
 * Path resolution inside a container root. A rootfs is untrusted: its symlinks may point
 * anywhere (`/bin/sh -> /etc/shadow`, `x -> ../../..`). resolveInRoot walks the path one
 * component at a time, reading each symlink itself and resolving its target *relative to the
 * root*, with `..` clamped at the root, so the result always lies inside the root — like
 * chroot would resolve it, without chrooting.
 */
import { lstat, readlink } from "node:fs/promises";
import { join, resolve, sep } from "node:path";

const MAX_SYMLINKS = 255;

function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * Returns the host path of `path` as seen from inside `root`. Missing trailing components are
 * kept lexically (the result may not exist). Throws on symlink loops.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const rootAbs = resolve(root);
  let resolved: string[] = [];
  let pending = components(path);
  let hops = 0;
  let missing = false;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === "..") {
      resolved.pop();
      continue;
    }
    if (missing) {
      resolved.push(c);
      continue;
    }
    const candidate = join(rootAbs, ...resolved, c);
    let isLink: boolean;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (e) {
      if (
        (e as NodeJS.ErrnoException).code !== "ENOENT" &&
        (e as NodeJS.ErrnoException).code !== "ENOTDIR"
      )
        throw e;
      missing = true;
      resolved.push(c);
      continue;
    }
    if (!isLink) {
      resolved.push(c);
      continue;
    }
    if (++hops > MAX_SYMLINKS) {
      throw Object.assign(
        new Error(`too many levels of symbolic links resolving "${path}" in ${rootAbs}`),
        {
          code: "ELOOP",
        },
      );
    }
    const target = await readlink(candidate);
    if (target.startsWith("/")) resolved = [];
    pending = [...components(target), ...pending];
  }
  return resolved.length === 0 ? rootAbs : join(rootAbs, ...resolved);
}

/** True when `p` is `root` or lies below it (lexically). */
export function isInside(root: string, p: string): boolean {
  const r = resolve(root);
  const x = resolve(p);
  return x === r || x.startsWith(r.endsWith(sep) ? r : r + sep);
}
