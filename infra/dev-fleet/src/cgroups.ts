/**
 * The fleet's cgroups: one group `<own>/berth-fleet-<prefix>/<host>` per test host in every
 * hierarchy the caller belongs to (v1 controllers, name=systemd, and cgroup2), always beneath the
 * caller's own group, never elsewhere. Each agent starts inside its host's group, so it nests
 * its containers (`<host>/berth/<id>`) there and the hosts never share a `berth` parent.
 */
import {
  readFileSync,
  readdirSync,
  writeFileSync,
  mkdirSync,
  rmdirSync,
  existsSync,
} from "node:fs";
import { join } from "node:path";

export interface Hierarchy {
  version: 1 | 2;
  controllers: string[];
  /** The caller's own group, as an absolute directory. */
  ownDir: string;
}

interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

const unescape = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const f = left.split(" ");
    const r = right.split(" ");
    out.push({
      root: unescape(f[3] ?? ""),
      mountPoint: unescape(f[4] ?? ""),
      fsType: r[0] ?? "",
      superOptions: (r[2] ?? "").split(","),
    });
  }
  return out;
}

/** The caller's hierarchies from /proc/self/cgroup and /proc/self/mountinfo contents (pure). */
export function hierarchiesFrom(procCgroup: string, mountInfo: string): Hierarchy[] {
  const mounts = parseMountInfo(mountInfo);
  const out: Hierarchy[] = [];
  for (const line of procCgroup.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const controllers = m[2] === "" ? [] : m[2]!.split(",");
    const v2 = m[1] === "0" && controllers.length === 0;
    const mount = mounts.find((x) =>
      v2
        ? x.fsType === "cgroup2"
        : x.fsType === "cgroup" && controllers.every((c) => x.superOptions.includes(c)),
    );
    if (!mount) continue;
    const path = m[3]!;
    const rel =
      mount.root !== "/" && path.startsWith(mount.root)
        ? path.slice(mount.root.length) || "/"
        : path;
    out.push({
      version: v2 ? 2 : 1,
      controllers,
      ownDir: join(mount.mountPoint, rel).replace(/(.)\/+$/, "$1"),
    });
  }
  return out;
}

export function ownHierarchies(): Hierarchy[] {
  return hierarchiesFrom(
    readFileSync("/proc/self/cgroup", "utf8"),
    readFileSync("/proc/self/mountinfo", "utf8"),
  );
}

const tryWrite = (file: string, data: string) => {
  try {
    writeFileSync(file, data);
    return true;
  } catch {
    return false;
  }
};

/** mkdir a group; a new v1 cpuset group starts empty, so it inherits its parent's cpus and mems. */
function makeGroup(h: Hierarchy, parent: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (h.version === 1 && h.controllers.includes("cpuset")) {
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      if (readFileSync(join(dir, f), "utf8").trim() === "")
        writeFileSync(join(dir, f), readFileSync(join(parent, f), "utf8").trim());
    }
  }
}

/**
 * Creates the fleet's group and the host's group in every hierarchy; returns the host's groups
 * (their `cgroup.procs` files are where the agent's launcher writes its pid).
 */
export function createHostGroups(
  hs: readonly Hierarchy[],
  fleetGroup: string,
  host: string,
): string[] {
  const dirs: string[] = [];
  for (const h of hs) {
    const fleetDir = join(h.ownDir, fleetGroup);
    makeGroup(h, h.ownDir, fleetDir);
    if (h.version === 2) {
      // Delegate what the caller delegates to us (best effort: a v2 group with processes
      // cannot enable controllers for its children, and the caller's group has some).
      const ctl = readFileSync(join(fleetDir, "cgroup.controllers"), "utf8").trim().split(/\s+/);
      const enable = ctl
        .filter(Boolean)
        .map((c) => `+${c}`)
        .join(" ");
      if (enable) tryWrite(join(fleetDir, "cgroup.subtree_control"), enable);
    }
    const hostDir = join(fleetDir, host);
    makeGroup(h, fleetDir, hostDir);
    dirs.push(hostDir);
  }
  return dirs;
}

/** Every group of a tree, children before their parent. */
export function groupsBottomUp(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...groupsBottomUp(join(dir, e.name)));
  }
  out.push(dir);
  return out;
}

export function pidsOf(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const root of dirs) {
    for (const g of groupsBottomUp(root)) {
      let text = "";
      try {
        text = readFileSync(join(g, "cgroup.procs"), "utf8");
      } catch {
        continue;
      }
      for (const l of text.split("\n")) if (l.trim()) pids.add(Number(l));
    }
  }
  return [...pids];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs every process in the trees (a frozen group is thawed first, or the kill would wait),
 * until they are empty. These are all the fleet's: its agents and what they started.
 */
export async function killTrees(dirs: readonly string[], timeoutMs = 15_000): Promise<number> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const root of dirs) {
      for (const g of groupsBottomUp(root)) {
        if (existsSync(join(g, "freezer.state"))) tryWrite(join(g, "freezer.state"), "THAWED");
        if (existsSync(join(g, "cgroup.freeze"))) tryWrite(join(g, "cgroup.freeze"), "0");
      }
    }
    const pids = pidsOf(dirs);
    if (pids.length === 0) return killed.size;
    if (Date.now() > deadline)
      throw new Error(`processes still alive in the fleet's cgroups: ${pids.join(" ")}`);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        /* already gone */
      }
    }
    await sleep(50);
  }
}

/** Removes the trees' groups, children first; a group that is gone is fine. */
export async function removeTrees(dirs: readonly string[], timeoutMs = 10_000): Promise<number> {
  let removed = 0;
  const deadline = Date.now() + timeoutMs;
  for (const root of dirs) {
    for (const g of groupsBottomUp(root)) {
      for (;;) {
        try {
          rmdirSync(g);
          removed++;
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === "ENOENT") break;
          // A group whose last process has just died stays busy for a moment.
          if (code === "EBUSY" && Date.now() < deadline) {
            await sleep(50);
            continue;
          }
          throw new Error(`cannot remove cgroup ${g}: ${(e as Error).message}`);
        }
      }
    }
  }
  return removed;
}
