/**
 * Checks a container's limits against each other and against the host before anything is
 * created (Docker's rules), and reads the host figures stats need (/proc/stat, online CPUs).
 */
import { readFile } from "node:fs/promises";
import { invalidInput, type ContainerLimits } from "@berth/core";

/** `0-2,4` → [0, 1, 2, 4]. Throws on a malformed list or a reversed range. */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  const text = list.trim();
  if (text === "") return [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw invalidInput(`invalid cpu list "${list}": use the form 0-2,4`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw invalidInput(`invalid cpu list "${list}": ${a}-${b} is a reversed range`);
    if (b - a > 65_536) throw invalidInput(`invalid cpu list "${list}": range too large`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

export interface HostCpusets {
  /** CPUs the agent may use (its cpuset, else the online CPUs). */
  cpus: number[];
  /** Memory nodes the agent may use. */
  mems: number[];
}

/**
 * Validates limits as Docker does: swap needs memory and is at least memory (or -1), the
 * reservation is at most the memory limit, and cpusets name CPUs and nodes the host has.
 */
export function validateLimits(l: Partial<ContainerLimits>, host: HostCpusets): void {
  if (l.memorySwapBytes !== undefined && l.memorySwapBytes !== -1) {
    if (l.memoryBytes === undefined)
      throw invalidInput("a memory+swap limit (--memory-swap) requires a memory limit (--memory)");
    if (l.memorySwapBytes < l.memoryBytes)
      throw invalidInput(
        `the memory+swap limit (${l.memorySwapBytes}) must be at least the memory limit (${l.memoryBytes})`,
      );
  }
  if (l.memorySwapBytes === -1 && l.memoryBytes === undefined)
    throw invalidInput("unlimited swap (--memory-swap -1) requires a memory limit (--memory)");
  if (
    l.memoryReservationBytes !== undefined &&
    l.memoryBytes !== undefined &&
    l.memoryReservationBytes > l.memoryBytes
  )
    throw invalidInput(
      `the memory reservation (${l.memoryReservationBytes}) must not exceed the memory limit (${l.memoryBytes})`,
    );
  if (l.cpusetCpus !== undefined) {
    const missing = parseCpuList(l.cpusetCpus).filter((c) => !host.cpus.includes(c));
    if (missing.length > 0)
      throw invalidInput(
        `cpuset CPUs ${missing.join(",")} do not exist on this node (it has ${formatCpuList(host.cpus)})`,
        { cpusetCpus: l.cpusetCpus, available: formatCpuList(host.cpus) },
      );
  }
  if (l.cpusetMems !== undefined) {
    const missing = parseCpuList(l.cpusetMems).filter((c) => !host.mems.includes(c));
    if (missing.length > 0)
      throw invalidInput(
        `cpuset memory nodes ${missing.join(",")} do not exist on this node (it has ${formatCpuList(host.mems)})`,
        { cpusetMems: l.cpusetMems, available: formatCpuList(host.mems) },
      );
  }
}

/** [0,1,2,4] → `0-2,4`. */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < cpus.length) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j === i ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** Linux's USER_HZ: /proc/stat counts in 1/100 s on every architecture Berth runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** The host's total CPU time in nanoseconds (the `cpu` line of /proc/stat), as docker computes it. */
export function parseProcStatCpuNs(procStat: string): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("/proc/stat has no aggregate cpu line");
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8) // user nice system idle iowait irq softirq (docker's sum)
    .reduce((a, v) => a + Number(v), 0);
  return (ticks * 1e9) / CLOCK_TICKS_PER_SECOND;
}

export async function readSystemCpu(): Promise<{ systemNs: number; onlineCpus: number }> {
  const [stat, online] = await Promise.all([
    readFile("/proc/stat", "utf8"),
    readFile("/sys/devices/system/cpu/online", "utf8"),
  ]);
  return { systemNs: parseProcStatCpuNs(stat), onlineCpus: parseCpuList(online).length };
}
