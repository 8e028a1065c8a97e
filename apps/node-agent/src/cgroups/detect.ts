/**
 * Which cgroup layout this host has, and where the agent itself sits in it. Container groups
 * are always created beneath the agent's own group in every hierarchy (never elsewhere).
 */
import { readFile, statfs } from "node:fs/promises";
import { join } from "node:path";
import { parseMountInfo, type MountInfo } from "../sys/mount";

const CGROUP2_SUPER_MAGIC = 0x63677270;

export type CgroupMode = "legacy" | "hybrid" | "unified";

export interface ProcCgroupEntry {
  hierarchyId: number;
  /** Controllers of a v1 hierarchy (`name=systemd` included); empty for the v2 entry. */
  controllers: string[];
  path: string;
}

/** Parses /proc/<pid>/cgroup. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const ctl = line.slice(first + 1, second);
    out.push({
      hierarchyId: Number(line.slice(0, first)),
      controllers: ctl === "" ? [] : ctl.split(","),
      path: line.slice(second + 1),
    });
  }
  return out;
}

export interface CgroupHierarchy {
  /** Controllers (v1) or [] for the cgroup2 hierarchy. */
  controllers: string[];
  version: 1 | 2;
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** The agent's own group inside the hierarchy, e.g. /process_api/c2dd…. */
  ownPath: string;
  /** Absolute directory of the agent's own group. */
  ownDir: string;
}

export interface CgroupLayout {
  mode: CgroupMode;
  /** 2 when unified, else 1 (the controllers live in v1 hierarchies). */
  version: 1 | 2;
  hierarchies: CgroupHierarchy[];
}

/** Builds the layout from /proc/self/cgroup and /proc/self/mountinfo contents. */
export function layoutFrom(
  procCgroup: string,
  mountInfo: MountInfo[],
  mode: CgroupMode,
): CgroupLayout {
  const entries = parseProcCgroup(procCgroup);
  const hierarchies: CgroupHierarchy[] = [];
  for (const e of entries) {
    const v2 = e.hierarchyId === 0 && e.controllers.length === 0;
    if (v2 && mode === "legacy") continue;
    const mount = mountInfo.find((m) =>
      v2
        ? m.fsType === "cgroup2"
        : m.fsType === "cgroup" &&
          e.controllers.every((c) => m.superOptions.split(",").includes(c)),
    );
    if (!mount) continue;
    // Inside a cgroup namespace the mount's root may be a sub-path of the hierarchy.
    const rel =
      mount.root !== "/" && e.path.startsWith(mount.root)
        ? e.path.slice(mount.root.length) || "/"
        : e.path;
    hierarchies.push({
      controllers: e.controllers,
      version: v2 ? 2 : 1,
      mountPoint: mount.mountPoint,
      ownPath: e.path,
      ownDir: join(mount.mountPoint, rel),
    });
  }
  return { mode, version: mode === "unified" ? 2 : 1, hierarchies };
}

export async function detectCgroupMode(root = "/sys/fs/cgroup"): Promise<CgroupMode> {
  if (Number((await statfs(root)).type) === CGROUP2_SUPER_MAGIC) return "unified";
  try {
    if (Number((await statfs(join(root, "unified"))).type) === CGROUP2_SUPER_MAGIC) return "hybrid";
  } catch {
    /* no unified mount: legacy */
  }
  return "legacy";
}

export async function detectCgroups(): Promise<CgroupLayout> {
  const [mode, procCgroup, mountInfo] = await Promise.all([
    detectCgroupMode(),
    readFile("/proc/self/cgroup", "utf8"),
    readFile("/proc/self/mountinfo", "utf8"),
  ]);
  return layoutFrom(procCgroup, parseMountInfo(mountInfo), mode);
}
