/**
 * CPU time and memory of everything under the agent's `berth` group (all its containers), from
 * the cgroup files: v2 `cpu.stat` usage_usec and `memory.current`; v1 `cpuacct.usage` and
 * `memory.usage_in_bytes`. For the node metrics heartbeats carry.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BERTH_GROUP } from "./cgroup-driver";
import type { CgroupLayout } from "./detect";

async function read(path: string): Promise<string | null> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    return null;
  }
}

export async function readSubtreeUsage(
  layout: CgroupLayout,
): Promise<{ cpuSeconds: number; memoryBytes: number } | undefined> {
  const v2 = layout.hierarchies.find((h) => h.version === 2);
  if (layout.version === 2 && v2) {
    const dir = join(v2.ownDir, BERTH_GROUP);
    const [stat, mem] = await Promise.all([
      read(join(dir, "cpu.stat")),
      read(join(dir, "memory.current")),
    ]);
    if (stat === null && mem === null) return undefined;
    const usec = /^usage_usec (\d+)$/m.exec(stat ?? "");
    return { cpuSeconds: usec ? Number(usec[1]) / 1e6 : 0, memoryBytes: Number(mem ?? 0) || 0 };
  }
  const cpu = layout.hierarchies.find((h) => h.controllers.includes("cpuacct"));
  const memory = layout.hierarchies.find((h) => h.controllers.includes("memory"));
  const [ns, mem] = await Promise.all([
    cpu ? read(join(cpu.ownDir, BERTH_GROUP, "cpuacct.usage")) : null,
    memory ? read(join(memory.ownDir, BERTH_GROUP, "memory.usage_in_bytes")) : null,
  ]);
  if (ns === null && mem === null) return undefined;
  return { cpuSeconds: Number(ns ?? 0) / 1e9 || 0, memoryBytes: Number(mem ?? 0) || 0 };
}
