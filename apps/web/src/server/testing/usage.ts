/** Usage samples as an agent sends them, zero but for what a test sets. */
import type { UsageSample } from "@berth/core";

export function usageSample(
  s: Pick<UsageSample, "seq" | "containerId" | "epoch" | "at"> & Partial<UsageSample>,
): UsageSample {
  return {
    cpuNs: 0,
    memBytes: 0,
    memByteSec: 0,
    memLimitBytes: null,
    pids: 1,
    blkReadBytes: 0,
    blkWriteBytes: 0,
    netRxBytes: 0,
    netTxBytes: 0,
    ...s,
  };
}
