/**
 * Did the kernel OOM-kill a process of this container? conmon writes an `oom` file in its
 * persist dir when it sees the cgroup's OOM event; as a second witness (conmon can miss the
 * event if the process dies first) the memory cgroup's own counter is read before
 * `runc delete` removes the group: v1 `memory.oom_control` → `oom_kill N`, v2 `memory.events`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isErrno } from "../sys/fs";

/** Parses the `oom_kill N` line of memory.oom_control (v1) or memory.events (v2). */
export function parseOomKills(text: string): number {
  const m = /^oom_kill\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT") || isErrno(e, "ENODEV")) return null;
    throw e;
  }
}

/**
 * `oomFile` is conmon's marker; `cgroupDirs` the container's cgroup dirs by controller (v1) or
 * under "" (v2), as CgroupDriver.containerPaths returns them.
 */
export async function wasOomKilled(
  oomFile: string,
  cgroupDirs: Record<string, string>,
): Promise<boolean> {
  if ((await readOptional(oomFile)) !== null) return true;
  const v1 = cgroupDirs["memory"];
  if (v1) {
    const t = await readOptional(join(v1, "memory.oom_control"));
    if (t !== null && parseOomKills(t) > 0) return true;
  }
  const v2 = cgroupDirs[""];
  if (v2) {
    const t = await readOptional(join(v2, "memory.events"));
    if (t !== null && parseOomKills(t) > 0) return true;
  }
  return false;
}
