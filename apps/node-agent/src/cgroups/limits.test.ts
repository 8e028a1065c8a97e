import { describe, expect, it } from "vitest";
import {
  formatCpuList,
  parseCpuList,
  parseProcStatCpuNs,
  validateLimits,
  type HostCpusets,
} from "./limits";

const MiB = 2 ** 20;
const host: HostCpusets = { cpus: [0, 1], mems: [0] };

describe("cpu lists", () => {
  it("parses and formats ranges", () => {
    expect(parseCpuList("0-2,4,3")).toEqual([0, 1, 2, 3, 4]);
    expect(parseCpuList("0-1\n")).toEqual([0, 1]);
    expect(parseCpuList("")).toEqual([]);
    expect(formatCpuList([0, 1, 2, 4, 6, 7])).toBe("0-2,4,6-7");
  });
  it("rejects reversed ranges and garbage", () => {
    expect(() => parseCpuList("3-1")).toThrow(/reversed/);
    expect(() => parseCpuList("a")).toThrow(/invalid cpu list/);
  });
});

describe("validateLimits (Docker's rules)", () => {
  const bad = (l: Parameters<typeof validateLimits>[0], msg: RegExp) =>
    expect(() => validateLimits(l, host)).toThrow(msg);

  it("accepts consistent limits", () => {
    expect(() =>
      validateLimits(
        {
          memoryBytes: 64 * MiB,
          memorySwapBytes: 128 * MiB,
          memoryReservationBytes: 32 * MiB,
          cpusetCpus: "0-1",
          cpusetMems: "0",
        },
        host,
      ),
    ).not.toThrow();
    expect(() =>
      validateLimits({ memoryBytes: 64 * MiB, memorySwapBytes: -1 }, host),
    ).not.toThrow();
  });
  it("refuses swap without memory, swap below memory, reservation above memory", () => {
    bad({ memorySwapBytes: 64 * MiB }, /requires a memory limit/);
    bad({ memorySwapBytes: -1 }, /requires a memory limit/);
    bad({ memoryBytes: 64 * MiB, memorySwapBytes: 32 * MiB }, /at least the memory limit/);
    bad({ memoryBytes: 32 * MiB, memoryReservationBytes: 64 * MiB }, /must not exceed/);
  });
  it("refuses CPUs and memory nodes the host does not have, as invalid_input", () => {
    bad({ cpusetCpus: "0-3" }, /cpuset CPUs 2,3 do not exist on this node \(it has 0-1\)/);
    bad({ cpusetMems: "1" }, /memory nodes 1 do not exist/);
    try {
      validateLimits({ cpusetCpus: "5" }, host);
    } catch (e) {
      expect(e).toMatchObject({ kind: "invalid_input" });
    }
    expect.assertions(3);
  });
});

describe("/proc/stat", () => {
  it("sums user..softirq of the aggregate line in nanoseconds (USER_HZ 100)", () => {
    const text = "cpu  100 1 30 600 3 0 5 7 0 0\ncpu0 50 0 15 300 1 0 2 3 0 0\nintr 1 2\n";
    // 100+1+30+600+3+0+5 = 739 ticks = 7.39 s
    expect(parseProcStatCpuNs(text)).toBe(7_390_000_000);
  });
});
