/** Test-only: a container's usage reading with zero counters, one pid and no memory limit. */
import type { UsageReading } from "../usage-spool";

export function usageReading(
  fields: Pick<UsageReading, "containerId" | "epoch" | "at"> & Partial<UsageReading>,
): UsageReading {
  return {
    cpuNs: 0,
    memBytes: 0,
    memLimitBytes: null,
    pids: 1,
    blkReadBytes: 0,
    blkWriteBytes: 0,
    netRxBytes: 0,
    netTxBytes: 0,
    ...fields,
  };
}
