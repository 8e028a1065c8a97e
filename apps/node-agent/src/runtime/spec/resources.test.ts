import { describe, expect, it } from "vitest";
import { limitsToResources } from "./resources";
import { buildSpec, withLimits } from "./spec-opts";

const MiB = 2 ** 20;

describe("limitsToResources", () => {
  it("maps every limit to linux.resources", () => {
    expect(
      limitsToResources(
        {
          memoryBytes: 64 * MiB,
          memoryReservationBytes: 32 * MiB,
          memorySwapBytes: 256 * MiB,
          pidsLimit: 50,
          cpuShares: 512,
          nanoCpus: 1_500_000_000,
          cpusetCpus: "0-1",
          cpusetMems: "0",
          blkioWeight: 300,
        },
        { blkioWeight: true },
      ),
    ).toEqual({
      memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 256 * MiB },
      cpu: { shares: 512, period: 100000, quota: 150000, cpus: "0-1", mems: "0" },
      pids: { limit: 50 },
      blockIO: { weight: 300 },
    });
  });
  it("follows Docker for swap: unset → 2× memory, -1 → unlimited", () => {
    expect(limitsToResources({ memoryBytes: 64 * MiB }, { blkioWeight: true }).memory).toEqual({
      limit: 64 * MiB,
      swap: 128 * MiB,
    });
    expect(
      limitsToResources({ memoryBytes: 64 * MiB, memorySwapBytes: -1 }, { blkioWeight: true })
        .memory,
    ).toEqual({ limit: 64 * MiB, swap: -1 });
  });
  it("--cpus 0.5 is quota 50000 over period 100000", () => {
    expect(limitsToResources({ nanoCpus: 500_000_000 }, { blkioWeight: true }).cpu).toEqual({
      quota: 50000,
      period: 100000,
    });
  });
  it("skips the block IO weight with a warning when the kernel has no weight file", () => {
    const warnings: string[] = [];
    const r = limitsToResources(
      { blkioWeight: 300 },
      { blkioWeight: false, warn: (m) => warnings.push(m) },
    );
    expect(r.blockIO).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/blkioWeight is ignored/)]);
  });
  it("withLimits keeps the device rules of the base spec", () => {
    const s = buildSpec(withLimits({ pidsLimit: 5 }));
    expect(s.linux.resources).toEqual({
      devices: [{ allow: false, access: "rwm" }],
      pids: { limit: 5 },
    });
  });
});
