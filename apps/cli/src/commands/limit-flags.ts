/**
 * Docker's resource flags (`run` and `update`): --memory, --memory-reservation, --memory-swap,
 * --cpus, --cpu-shares, --cpuset-cpus, --cpuset-mems, --blkio-weight, --pids-limit, turned into
 * the API's ContainerLimits (the server and agent validate the values again).
 */
import { parseByteSize, type ContainerLimits } from "@berth/core";
import { UsageError } from "../errors";

export interface LimitFlags {
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  blkioWeight?: string;
  pidsLimit?: string;
}

/** Where each limit came from on the command line, for error messages. */
export const LIMIT_FLAG_OF: Record<keyof ContainerLimits, string> = {
  memoryBytes: "-m, --memory",
  memoryReservationBytes: "--memory-reservation",
  memorySwapBytes: "--memory-swap",
  nanoCpus: "--cpus",
  cpuShares: "-c, --cpu-shares",
  cpusetCpus: "--cpuset-cpus",
  cpusetMems: "--cpuset-mems",
  blkioWeight: "--blkio-weight",
  pidsLimit: "--pids-limit",
};

function invalid(value: string, flag: string, why: string, command: string): UsageError {
  return new UsageError(
    `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}`,
    `see \`berth ${command} --help\``,
  );
}

/** Parses the flags that were given; absent flags stay absent. */
export function parseLimitFlags(f: LimitFlags, command = "run"): Partial<ContainerLimits> {
  const out: Partial<ContainerLimits> = {};
  const size = (v: string, flag: string) => {
    try {
      return parseByteSize(v);
    } catch (e) {
      throw invalid(v, flag, (e as Error).message, command);
    }
  };
  const int = (v: string, flag: string) => {
    if (!/^-?\d+$/.test(v.trim())) throw invalid(v, flag, "expected an integer", command);
    return Number(v);
  };
  if (f.memory !== undefined) out.memoryBytes = size(f.memory, LIMIT_FLAG_OF.memoryBytes);
  if (f.memoryReservation !== undefined)
    out.memoryReservationBytes = size(f.memoryReservation, LIMIT_FLAG_OF.memoryReservationBytes);
  if (f.memorySwap !== undefined)
    out.memorySwapBytes =
      f.memorySwap.trim() === "-1" ? -1 : size(f.memorySwap, LIMIT_FLAG_OF.memorySwapBytes);
  if (f.cpus !== undefined) {
    const n = Number(f.cpus);
    if (!/^\d*\.?\d+$/.test(f.cpus.trim()) || !Number.isFinite(n) || n <= 0)
      throw invalid(f.cpus, LIMIT_FLAG_OF.nanoCpus, "expected a positive number of CPUs", command);
    out.nanoCpus = Math.round(n * 1e9);
  }
  if (f.cpuShares !== undefined) out.cpuShares = int(f.cpuShares, LIMIT_FLAG_OF.cpuShares);
  if (f.cpusetCpus !== undefined) out.cpusetCpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) out.cpusetMems = f.cpusetMems;
  if (f.blkioWeight !== undefined) out.blkioWeight = int(f.blkioWeight, LIMIT_FLAG_OF.blkioWeight);
  if (f.pidsLimit !== undefined) {
    const n = int(f.pidsLimit, LIMIT_FLAG_OF.pidsLimit);
    if (n > 0) out.pidsLimit = n; // docker: 0 or -1 means unlimited
  }
  return out;
}
