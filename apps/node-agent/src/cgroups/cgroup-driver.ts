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
 *
 * Limits of a running container change through `runc update --resources -` (the ResourceUpdater),
 * not by writing files here: runc keeps its own state (config of the container) in step with the
 * kernel, orders v1 writes correctly (memory.memsw.limit_in_bytes must grow before
 * memory.limit_in_bytes and shrink after it), and translates to v2 files (shares → cpu.weight,
 * memory+swap → memory.swap.max) the same way it did at create. Reads (limits as applied, usage)
 * and the freezer go to the files directly: they are cheap and runc has no one-shot stats JSON
 * that covers both versions without running `runc events --stats`, a process per sample.
 */
import { access, appendFile, readFile, rmdir, mkdir, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { DomainError } from "@berth/core";
import type { OciResources } from "../runtime/spec/oci-spec";
import { isErrno } from "../sys/fs";
import type { CgroupLayout, CgroupHierarchy } from "./detect";
import { parseCpuList, type HostCpusets } from "./limits";

export const BERTH_GROUP = "berth";

/** Applies new resources to a running container (RuncRuntime: `runc update --resources -`). */
export interface ResourceUpdater {
  update(id: string, resources: OciResources): Promise<void>;
}

/** The limits as the kernel reports them; null = unlimited / not set / no such file. */
export interface AppliedLimits {
  memoryBytes: number | null;
  memoryReservationBytes: number | null;
  /** Memory + swap (Docker's `--memory-swap`); null when swap is unlimited. */
  memorySwapBytes: number | null;
  /** v1 cpu.shares; on v2 converted back from cpu.weight (runc's mapping, so approximate). */
  cpuShares: number | null;
  cpuQuotaUs: number | null;
  cpuPeriodUs: number | null;
  cpusetCpus: string | null;
  cpusetMems: string | null;
  pidsLimit: number | null;
  blkioWeight: number | null;
}

/** One sample of a container's usage, from its cgroup files. */
export interface CgroupStats {
  cpuTotalNs: number;
  memoryUsageBytes: number;
  memoryLimitBytes: number | null;
  memoryCacheBytes: number;
  pidsCurrent: number;
  pidsLimit: number | null;
  blkioReadBytes: number;
  blkioWriteBytes: number;
}

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
  /** Every limit as applied, read back from the container's cgroup files. */
  readLimits(id: string): Promise<AppliedLimits>;
  /** Usage counters: CPU time, memory (usage, limit, page cache), pids, block IO bytes. */
  readStats(id: string): Promise<CgroupStats>;
  /** Changes a running container's limits (through the ResourceUpdater, i.e. `runc update`). */
  update(id: string, resources: OciResources): Promise<void>;
  /** Freezes every process of the container (v1 freezer.state, v2 cgroup.freeze); waits for it. */
  freeze(id: string): Promise<void>;
  thaw(id: string): Promise<void>;
  /** CPUs and memory nodes a container may be pinned to (the agent's own cpuset). */
  hostCpusets(): Promise<HostCpusets>;
  /** Whether the kernel has a block IO weight file (blkio.weight / blkio.bfq.weight / io.weight). */
  supportsBlkioWeight(): Promise<boolean>;
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

function num(v: string | null): number | null {
  if (v === null || v === "" || v === "max") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function v1Bytes(v: string | null): number | null {
  const n = num(v);
  return n === null || n >= V1_UNLIMITED ? null : n;
}

/** `key value` lines (memory.stat, cpu.stat) → map. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/** blkio.throttle.io_service_bytes: `8:0 Read 4096` lines; sums Read and Write over devices. */
export function parseV1IoServiceBytes(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split("\n")) {
    const [dev, op, v] = line.trim().split(/\s+/);
    if (!dev || !v || dev === "Total") continue;
    if (op === "Read") read += Number(v);
    else if (op === "Write") write += Number(v);
  }
  return { read, write };
}

/** io.stat: `8:0 rbytes=4096 wbytes=0 rios=1 …` lines; sums rbytes and wbytes over devices. */
export function parseV2IoStat(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split("\n")) {
    for (const kv of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = kv.split("=");
      if (k === "rbytes") read += Number(v);
      else if (k === "wbytes") write += Number(v);
    }
  }
  return { read, write };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Writes `value` to `file` until `check` reads the wanted state (the freezer is asynchronous). */
async function writeUntil(
  file: string,
  value: string,
  check: () => Promise<boolean>,
  what: string,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await writeFile(file, value);
    if (await check()) return;
    await sleep(50);
  }
  throw new DomainError("timeout", `${what} did not complete within 5 s`, { file });
}

function noUpdater(): never {
  throw new DomainError("unavailable", "this cgroup driver was built without a resource updater");
}

async function readDomain(dir: string | undefined, file: string, fallback: string) {
  const v = dir ? await readValue(join(dir, file)) : null;
  return v === null || v === "" ? fallback : v;
}

async function onlineCpus(): Promise<string> {
  return (await readValue("/sys/devices/system/cpu/online")) ?? "0";
}

export class V1Driver implements CgroupDriver {
  constructor(
    readonly layout: CgroupLayout,
    private readonly updater?: ResourceUpdater,
  ) {}

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

  async readLimits(id: string): Promise<AppliedLimits> {
    const p = this.containerPaths(id);
    const at = (c: string, f: string) => (p[c] ? readValue(join(p[c], f)) : Promise.resolve(null));
    const [mem, soft, memsw, shares, quota, period, cpus, mems, pids, weight, bfq] =
      await Promise.all([
        at("memory", "memory.limit_in_bytes"),
        at("memory", "memory.soft_limit_in_bytes"),
        at("memory", "memory.memsw.limit_in_bytes"),
        at("cpu", "cpu.shares"),
        at("cpu", "cpu.cfs_quota_us"),
        at("cpu", "cpu.cfs_period_us"),
        at("cpuset", "cpuset.cpus"),
        at("cpuset", "cpuset.mems"),
        at("pids", "pids.max"),
        at("blkio", "blkio.weight"),
        at("blkio", "blkio.bfq.weight"),
      ]);
    const q = num(quota);
    return {
      memoryBytes: v1Bytes(mem),
      memoryReservationBytes: v1Bytes(soft),
      memorySwapBytes: v1Bytes(memsw),
      cpuShares: num(shares),
      cpuQuotaUs: q === null || q < 0 ? null : q,
      cpuPeriodUs: num(period),
      cpusetCpus: cpus || null,
      cpusetMems: mems || null,
      pidsLimit: num(pids),
      blkioWeight: num(weight) ?? num(bfq?.replace(/^default\s+/, "") ?? null),
    };
  }

  async readStats(id: string): Promise<CgroupStats> {
    const p = this.containerPaths(id);
    const at = (c: string, f: string) => (p[c] ? readValue(join(p[c], f)) : Promise.resolve(null));
    const [cpu, usage, limit, stat, pidsCur, pidsMax, ioRec, io] = await Promise.all([
      at("cpuacct", "cpuacct.usage"),
      at("memory", "memory.usage_in_bytes"),
      at("memory", "memory.limit_in_bytes"),
      at("memory", "memory.stat"),
      at("pids", "pids.current"),
      at("pids", "pids.max"),
      at("blkio", "blkio.throttle.io_service_bytes_recursive"),
      at("blkio", "blkio.throttle.io_service_bytes"),
    ]);
    if (cpu === null && usage === null)
      throw new DomainError(
        "not_found",
        `container ${id.slice(0, 12)} has no cgroup (not running?)`,
      );
    const ms = parseFlatKeyed(stat ?? "");
    const blk = parseV1IoServiceBytes(ioRec ?? io ?? "");
    return {
      cpuTotalNs: num(cpu) ?? 0,
      memoryUsageBytes: num(usage) ?? 0,
      memoryLimitBytes: v1Bytes(limit),
      memoryCacheBytes: ms.get("total_cache") ?? ms.get("cache") ?? 0,
      pidsCurrent: num(pidsCur) ?? 0,
      pidsLimit: num(pidsMax),
      blkioReadBytes: blk.read,
      blkioWriteBytes: blk.write,
    };
  }

  async update(id: string, resources: OciResources): Promise<void> {
    if (!this.updater) noUpdater();
    await this.updater.update(id, resources);
  }

  async freeze(id: string): Promise<void> {
    await this.setFreezer(id, "FROZEN");
  }

  async thaw(id: string): Promise<void> {
    await this.setFreezer(id, "THAWED");
  }

  private async setFreezer(id: string, state: "FROZEN" | "THAWED"): Promise<void> {
    const dir = this.containerPaths(id)["freezer"];
    if (!dir) throw new DomainError("unavailable", "this host has no freezer cgroup hierarchy");
    const file = join(dir, "freezer.state");
    await writeUntil(
      file,
      state,
      async () => (await readValue(file)) === state,
      `${state === "FROZEN" ? "freezing" : "thawing"} container ${id.slice(0, 12)}`,
    );
  }

  async hostCpusets(): Promise<HostCpusets> {
    const dir = this.byController("cpuset")?.ownDir;
    const online = await onlineCpus();
    return {
      cpus: parseCpuList(await readDomain(dir, "cpuset.effective_cpus", online)),
      mems: parseCpuList(await readDomain(dir, "cpuset.effective_mems", "0")),
    };
  }

  async supportsBlkioWeight(): Promise<boolean> {
    const dir = this.byController("blkio")?.ownDir;
    if (!dir) return false;
    // BFQ's weight file exists only in non-root groups; its stat files show the policy is there.
    for (const f of ["blkio.weight", "blkio.bfq.weight", "blkio.bfq.io_service_bytes"])
      if (await exists(join(dir, f))) return true;
    return false;
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

  constructor(
    readonly layout: CgroupLayout,
    private readonly updater?: ResourceUpdater,
  ) {
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

  private file(id: string, f: string): Promise<string | null> {
    return readValue(join(this.containerPaths(id)[""]!, f));
  }

  async readLimits(id: string): Promise<AppliedLimits> {
    const [max, low, swap, weight, cpuMax, cpus, mems, pids, ioWeight, bfq] = await Promise.all(
      [
        "memory.max",
        "memory.low",
        "memory.swap.max",
        "cpu.weight",
        "cpu.max",
        "cpuset.cpus",
        "cpuset.mems",
        "pids.max",
        "io.weight",
        "io.bfq.weight",
      ].map((f) => this.file(id, f)),
    );
    const memoryBytes = num(max ?? null);
    const swapBytes = num(swap ?? null);
    const w = num(weight ?? null);
    const [quota, period] = (cpuMax ?? "").split(/\s+/);
    const low0 = num(low ?? null);
    return {
      memoryBytes,
      memoryReservationBytes: low0 === 0 ? null : low0,
      // memory.swap.max is swap alone; Docker's figure is memory + swap.
      memorySwapBytes: memoryBytes !== null && swapBytes !== null ? memoryBytes + swapBytes : null,
      // runc: weight = 1 + ((shares - 2) * 9999) / 262142; inverted here.
      cpuShares: w === null ? null : Math.round(2 + ((w - 1) * 262_142) / 9999),
      cpuQuotaUs: num(quota ?? null),
      cpuPeriodUs: num(period ?? null),
      cpusetCpus: cpus || null,
      cpusetMems: mems || null,
      pidsLimit: num(pids ?? null),
      blkioWeight: weightOf(ioWeight ?? null) ?? weightOf(bfq ?? null),
    };
  }

  async readStats(id: string): Promise<CgroupStats> {
    const [cpuStat, current, max, memStat, pidsCur, pidsMax, io] = await Promise.all(
      [
        "cpu.stat",
        "memory.current",
        "memory.max",
        "memory.stat",
        "pids.current",
        "pids.max",
        "io.stat",
      ].map((f) => this.file(id, f)),
    );
    if (cpuStat === null && current === null)
      throw new DomainError(
        "not_found",
        `container ${id.slice(0, 12)} has no cgroup (not running?)`,
      );
    const cpu = parseFlatKeyed(cpuStat ?? "");
    const ms = parseFlatKeyed(memStat ?? "");
    const blk = parseV2IoStat(io ?? "");
    return {
      cpuTotalNs: (cpu.get("usage_usec") ?? 0) * 1000,
      memoryUsageBytes: num(current ?? null) ?? 0,
      memoryLimitBytes: num(max ?? null),
      memoryCacheBytes: ms.get("file") ?? 0,
      pidsCurrent: num(pidsCur ?? null) ?? 0,
      pidsLimit: num(pidsMax ?? null),
      blkioReadBytes: blk.read,
      blkioWriteBytes: blk.write,
    };
  }

  async update(id: string, resources: OciResources): Promise<void> {
    if (!this.updater) noUpdater();
    await this.updater.update(id, resources);
  }

  async freeze(id: string): Promise<void> {
    await this.setFrozen(id, true);
  }

  async thaw(id: string): Promise<void> {
    await this.setFrozen(id, false);
  }

  private async setFrozen(id: string, on: boolean): Promise<void> {
    const dir = this.containerPaths(id)[""]!;
    await writeUntil(
      join(dir, "cgroup.freeze"),
      on ? "1" : "0",
      async () =>
        parseFlatKeyed((await readValue(join(dir, "cgroup.events"))) ?? "").get("frozen") ===
        (on ? 1 : 0),
      `${on ? "freezing" : "thawing"} container ${id.slice(0, 12)}`,
    );
  }

  async hostCpusets(): Promise<HostCpusets> {
    const own = this.h.ownDir;
    const online = await onlineCpus();
    return {
      cpus: parseCpuList(await readDomain(own, "cpuset.cpus.effective", online)),
      mems: parseCpuList(await readDomain(own, "cpuset.mems.effective", "0")),
    };
  }

  async supportsBlkioWeight(): Promise<boolean> {
    const controllers = (await readValue(join(this.h.ownDir, "cgroup.controllers"))) ?? "";
    return controllers.split(/\s+/).includes("io");
  }

  async removeContainer(id: string): Promise<void> {
    await rmdirIfEmpty(this.containerPaths(id)[""]!);
  }

  async cleanup(): Promise<void> {
    // `<own>/berth` and `<own>/agent` stay while the agent runs: the agent lives in one.
  }
}

/** io.weight / io.bfq.weight: `default 100` (+ per-device lines) → 100. */
function weightOf(v: string | null): number | null {
  if (v === null) return null;
  const m = /^(?:default\s+)?(\d+)/.exec(v.trim());
  return m ? Number(m[1]) : null;
}

export function driverFor(layout: CgroupLayout, updater?: ResourceUpdater): CgroupDriver {
  return layout.mode === "unified" ? new V2Driver(layout, updater) : new V1Driver(layout, updater);
}
