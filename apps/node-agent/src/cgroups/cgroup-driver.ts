/**
 * CgroupDriver: where a container's groups live and how to read them back. The OCI runtime
 * creates and deletes the container's groups; the driver chooses the path it is given, reads
 * limits and usage, and removes the empty `berth` parent groups it caused to exist.
 *
 *   v1 (legacy/hybrid): runc gets a *relative* cgroupsPath `berth/<id>`, which its cgroupfs
 *     driver places under runc's own group in every hierarchy — runc is a child of conmon,
 *     a child of the agent, so that is the agent's own group.
 *   v2 (unified): runc would place a relative path under the *parent* of its own group, so
 *     the driver passes an absolute `<own>/berth/<id>`; and because a cgroup2 group with
 *     processes cannot delegate controllers, prepare() moves the agent into `<own>/agent`
 *     and enables the controllers for `<own>` and `<own>/berth`.
 */
import { appendFile, readFile, rmdir, mkdir, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { isErrno } from "../sys/fs";
import type { CgroupLayout, CgroupHierarchy } from "./detect";

export const BERTH_GROUP = "berth";

export interface CgroupDriver {
  readonly layout: CgroupLayout;
  /** The agent's own group (in the memory hierarchy on v1). */
  readonly parent: string;
  /** Runs once at start. */
  prepare(): Promise<void>;
  /** The value for the OCI spec's linux.cgroupsPath. */
  cgroupsPath(id: string): string;
  /** Absolute directories of the container's groups, by controller ("" for cgroup2). */
  containerPaths(id: string): Record<string, string>;
  /** The memory limit in bytes, or null when unlimited / absent. */
  readMemoryLimit(id: string): Promise<number | null>;
  /** pids.max, or null when "max" / absent. */
  readPidsMax(id: string): Promise<number | null>;
  /** Removes the container's groups if the runtime left them (only empty ones). */
  removeContainer(id: string): Promise<void>;
  /** Removes the empty `berth` parent groups. */
  cleanup(): Promise<void>;
}

async function readValue(path: string): Promise<string | null> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (e) {
    if (isErrno(e, "ENOENT")) return null;
    throw e;
  }
}

async function rmdirIfEmpty(path: string): Promise<void> {
  try {
    await rmdir(path);
  } catch (e) {
    if (isErrno(e, "ENOENT") || isErrno(e, "EBUSY") || isErrno(e, "ENOTEMPTY")) return;
    throw e;
  }
}

/** memory.limit_in_bytes reports "unlimited" as a huge page-rounded number. */
const V1_UNLIMITED = 2 ** 62;

export class V1Driver implements CgroupDriver {
  constructor(readonly layout: CgroupLayout) {}

  get parent(): string {
    return (this.byController("memory") ?? this.layout.hierarchies[0])?.ownPath ?? "/";
  }

  private byController(c: string): CgroupHierarchy | undefined {
    return this.layout.hierarchies.find((h) => h.controllers.includes(c));
  }

  async prepare(): Promise<void> {}

  cgroupsPath(id: string): string {
    return posix.join(BERTH_GROUP, id);
  }

  containerPaths(id: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of this.layout.hierarchies) {
      const dir = join(h.ownDir, BERTH_GROUP, id);
      if (h.version === 2) out[""] = dir;
      else for (const c of h.controllers) out[c] = dir;
    }
    return out;
  }

  async readMemoryLimit(id: string): Promise<number | null> {
    const dir = this.containerPaths(id)["memory"];
    if (!dir) return null;
    const v = await readValue(join(dir, "memory.limit_in_bytes"));
    if (v === null) return null;
    const n = Number(v);
    return n >= V1_UNLIMITED ? null : n;
  }

  async readPidsMax(id: string): Promise<number | null> {
    const dir = this.containerPaths(id)["pids"];
    if (!dir) return null;
    const v = await readValue(join(dir, "pids.max"));
    return v === null || v === "max" ? null : Number(v);
  }

  async removeContainer(id: string): Promise<void> {
    await Promise.all(
      [...new Set(Object.values(this.containerPaths(id)))].map((d) => rmdirIfEmpty(d)),
    );
  }

  async cleanup(): Promise<void> {
    await Promise.all(
      this.layout.hierarchies.map((h) => rmdirIfEmpty(join(h.ownDir, BERTH_GROUP))),
    );
  }
}

export class V2Driver implements CgroupDriver {
  private readonly h: CgroupHierarchy;

  constructor(readonly layout: CgroupLayout) {
    const h = layout.hierarchies.find((x) => x.version === 2);
    if (!h) throw new Error("cgroup v2 driver: no cgroup2 hierarchy in the layout");
    this.h = h;
  }

  get parent(): string {
    return this.h.ownPath;
  }

  /**
   * Moves the agent into `<own>/agent` (a cgroup2 group that delegates controllers must not
   * hold processes), then enables the available controllers for `<own>` and `<own>/berth`.
   */
  async prepare(): Promise<void> {
    const own = this.h.ownDir;
    const leaf = join(own, "agent");
    await mkdir(leaf, { recursive: true });
    const procs = (await readFile(join(own, "cgroup.procs"), "utf8")).split("\n").filter(Boolean);
    for (const pid of procs) {
      try {
        await writeFile(join(leaf, "cgroup.procs"), pid);
      } catch (e) {
        if (!isErrno(e, "ESRCH")) throw e;
      }
    }
    const controllers = (await readFile(join(own, "cgroup.controllers"), "utf8"))
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    const enable = controllers.map((c) => `+${c}`).join(" ");
    if (enable) await appendFile(join(own, "cgroup.subtree_control"), enable);
    const berth = join(own, BERTH_GROUP);
    await mkdir(berth, { recursive: true });
    if (enable) await appendFile(join(berth, "cgroup.subtree_control"), enable);
  }

  cgroupsPath(id: string): string {
    return posix.join(this.h.ownPath, BERTH_GROUP, id);
  }

  containerPaths(id: string): Record<string, string> {
    return { "": join(this.h.ownDir, BERTH_GROUP, id) };
  }

  async readMemoryLimit(id: string): Promise<number | null> {
    const v = await readValue(join(this.containerPaths(id)[""]!, "memory.max"));
    return v === null || v === "max" ? null : Number(v);
  }

  async readPidsMax(id: string): Promise<number | null> {
    const v = await readValue(join(this.containerPaths(id)[""]!, "pids.max"));
    return v === null || v === "max" ? null : Number(v);
  }

  async removeContainer(id: string): Promise<void> {
    await rmdirIfEmpty(this.containerPaths(id)[""]!);
  }

  async cleanup(): Promise<void> {
    // `<own>/berth` and `<own>/agent` stay while the agent runs: the agent lives in one.
  }
}

export function driverFor(layout: CgroupLayout): CgroupDriver {
  return layout.mode === "unified" ? new V2Driver(layout) : new V1Driver(layout);
}
