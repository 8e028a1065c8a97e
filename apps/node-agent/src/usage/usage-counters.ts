/**
 * The usage sampler's counter reads: only the files accounting needs (CPU time, memory in use
 * and its limit, pids, block IO; rx/tx bytes of the host veths), read synchronously. A round
 * reads ~8 small pseudo-files per container; synchronous reads cost ~10 µs each against ~150 µs
 * for fs/promises (a threadpool hop and promises per file), and they never wait on a disk
 * (cgroupfs and sysfs are in memory), so the event loop is held for well under a millisecond
 * per container. `bench/usage.ts` measures the round.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DomainError } from "@berth/core";
import { parseFlatKeyed, parseV1IoServiceBytes, parseV2IoStat } from "../cgroups/cgroup-driver";
import type { VethBytes } from "./net-totals";
import type { UsageCounters } from "./usage-sampler";

/** memory.limit_in_bytes reports "unlimited" as a huge page-rounded number. */
const V1_UNLIMITED = 2 ** 62;

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENODEV") return null;
    throw e;
  }
}

function num(v: string | null): number | null {
  if (v === null) return null;
  const t = v.trim();
  if (t === "" || t === "max") return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/**
 * Reads a container's cgroup counters from its directories (CgroupDriver.containerPaths: v1 by
 * controller, v2 under ""). Throws not_found when the container has no cgroup.
 */
export function readCgroupCounters(
  id: string,
  paths: Record<string, string>,
): Omit<UsageCounters, "netRxBytes" | "netTxBytes" | "veths"> {
  const at = (c: string, f: string) => (paths[c] ? read(join(paths[c], f)) : null);
  // Pure v2 only: a hybrid host also lists its (controller-less) cgroup2 group under "".
  if (paths["memory"] === undefined && paths["cpuacct"] === undefined && paths[""] !== undefined) {
    const cpu = at("", "cpu.stat");
    const mem = at("", "memory.current");
    if (cpu === null && mem === null) throw gone(id);
    const blk = parseV2IoStat(at("", "io.stat") ?? "");
    return {
      cpuNs: (parseFlatKeyed(cpu ?? "").get("usage_usec") ?? 0) * 1000,
      memBytes: num(mem) ?? 0,
      memLimitBytes: num(at("", "memory.max")),
      pids: num(at("", "pids.current")) ?? 0,
      blkReadBytes: blk.read,
      blkWriteBytes: blk.write,
    };
  }
  const cpu = at("cpuacct", "cpuacct.usage");
  const mem = at("memory", "memory.usage_in_bytes");
  if (cpu === null && mem === null) throw gone(id);
  const limit = num(at("memory", "memory.limit_in_bytes"));
  const blk = parseV1IoServiceBytes(
    at("blkio", "blkio.throttle.io_service_bytes_recursive") ??
      at("blkio", "blkio.throttle.io_service_bytes") ??
      "",
  );
  return {
    cpuNs: num(cpu) ?? 0,
    memBytes: num(mem) ?? 0,
    memLimitBytes: limit === null || limit >= V1_UNLIMITED ? null : limit,
    pids: num(at("pids", "pids.current")) ?? 0,
    blkReadBytes: blk.read,
    blkWriteBytes: blk.write,
  };
}

/**
 * Bytes received / sent by the container over each of its host veths (the host end's tx is its
 * rx); a veth that no longer exists is left out. The sampler turns these into monotonic totals
 * (net-totals.ts); the sums are the plain totals of the veths present now.
 */
export function readVethCounters(hostVeths: readonly string[]): {
  netRxBytes: number;
  netTxBytes: number;
  veths: Record<string, VethBytes>;
} {
  let rx = 0;
  let tx = 0;
  const veths: Record<string, VethBytes> = {};
  for (const veth of hostVeths) {
    const base = `/sys/class/net/${veth}/statistics`;
    const r = num(read(`${base}/tx_bytes`));
    const t = num(read(`${base}/rx_bytes`));
    if (r === null && t === null) continue;
    veths[veth] = { rx: r ?? 0, tx: t ?? 0 };
    rx += r ?? 0;
    tx += t ?? 0;
  }
  return { netRxBytes: rx, netTxBytes: tx, veths };
}

function gone(id: string): DomainError {
  return new DomainError("not_found", `container ${id.slice(0, 12)} has no cgroup (not running?)`);
}
