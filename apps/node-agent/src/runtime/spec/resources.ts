/**
 * Container limits → the OCI spec's `linux.resources` (runtime-spec 1.0.2), the shape both
 * `config.json` and `runc update --resources -` take. runc translates it to cgroup v1 or v2 files.
 */
import type { ContainerLimits } from "@berth/core";
import type { OciResources } from "./oci-spec";

/** CFS period Docker uses with `--cpus`: 100 ms. */
export const CPU_PERIOD_US = 100_000;

export interface ResourceOptions {
  /** Whether the kernel has a block IO weight file; without one, blkioWeight is skipped. */
  blkioWeight: boolean;
  /** Called for limits that are skipped (with the reason). */
  warn?: (msg: string) => void;
}

/**
 * Maps limits to OCI resources, with Docker's swap semantics: memorySwapBytes is memory+swap;
 * unset with memoryBytes set → twice the memory; -1 → unlimited swap.
 */
export function limitsToResources(
  l: Partial<ContainerLimits>,
  opts: ResourceOptions,
): Omit<OciResources, "devices"> {
  const r: Omit<OciResources, "devices"> = {};
  const memory: NonNullable<OciResources["memory"]> = {};
  if (l.memoryBytes !== undefined) {
    memory.limit = l.memoryBytes;
    memory.swap = l.memorySwapBytes ?? 2 * l.memoryBytes;
  } else if (l.memorySwapBytes !== undefined) {
    memory.swap = l.memorySwapBytes;
  }
  if (l.memoryReservationBytes !== undefined) memory.reservation = l.memoryReservationBytes;
  if (Object.keys(memory).length > 0) r.memory = memory;

  const cpu: NonNullable<OciResources["cpu"]> = {};
  if (l.cpuShares !== undefined) cpu.shares = l.cpuShares;
  if (l.nanoCpus !== undefined) {
    cpu.period = CPU_PERIOD_US;
    cpu.quota = Math.round((l.nanoCpus * CPU_PERIOD_US) / 1e9);
  }
  if (l.cpusetCpus !== undefined) cpu.cpus = l.cpusetCpus;
  if (l.cpusetMems !== undefined) cpu.mems = l.cpusetMems;
  if (Object.keys(cpu).length > 0) r.cpu = cpu;

  if (l.pidsLimit !== undefined) r.pids = { limit: l.pidsLimit };
  if (l.blkioWeight !== undefined) {
    if (opts.blkioWeight) r.blockIO = { weight: l.blkioWeight };
    else
      opts.warn?.(
        "the kernel has no block IO weight (blkio.weight / io.weight): blkioWeight is ignored",
      );
  }
  return r;
}
