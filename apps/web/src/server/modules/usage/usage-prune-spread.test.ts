/**
 * Regressions: prune() keeps the last-sample state of a container that still exists (a restart
 * after weeks does not re-bill its veth's lifetime total), and spread() never yields a negative
 * bucket.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UsageSample } from "@berth/core";
import { containers, eq, usageContainerState } from "@berth/db";
import { createFixture, insertContainer, insertNode, type Fixture } from "../../testing/fixtures";
import { usageSample } from "../../testing/usage";
import { spread } from "./usage-ingest";

const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;

describe("usage prune", () => {
  let f: Fixture;
  let nodeId: string;
  const admin = { isAdmin: true, teamId: "" };
  beforeEach(async () => {
    f = await createFixture();
    admin.teamId = f.defaultTeamId;
    nodeId = insertNode(f, "n1");
  });
  afterEach(async () => {
    f.services.usage.close();
    await f.close();
  });

  const s = (seq: number, cid: string, epochAt: number, over: Partial<UsageSample>) =>
    usageSample({ seq, containerId: cid, epoch: new Date(epochAt).toISOString(), at: 0, ...over });

  it("keeps a stopped container's state however old; drops a removed container's", () => {
    const u = f.services.usage;
    const cid = insertContainer(f, nodeId, "web");
    const gone = insertContainer(f, nodeId, "gone");
    const old = T0 - 20 * 86_400_000;
    u.sink.ingest(nodeId, [
      s(1, cid, old, { at: old + 30_000, netRxBytes: 5000, final: true }),
      s(2, gone, old, { at: old + 30_000, netRxBytes: 10, final: true }),
    ]);
    f.db.delete(containers).where(eq(containers.id, gone)).run();
    u.prune();
    const left = f.db.select().from(usageContainerState).all();
    expect(left.map((r) => r.containerId)).toEqual([cid]);
    // Restarted weeks later: its veth counter continues from 5000; only 100 bytes are new.
    u.sink.ingest(nodeId, [s(3, cid, T0, { at: T0 + 10_000, netRxBytes: 5100 })]);
    const r = u.report(admin, { from: T0 - 3_600_000, to: T0 + 3_600_000, by: "container" });
    expect(r.totals.networkRxGb * 1e9).toBeCloseTo(100, 3);
  });
});

describe("spread", () => {
  const delta = (cpuNs: number) => ({
    cpuNs,
    memByteSec: 0,
    memAllocByteSec: 0,
    netRxBytes: 0,
    netTxBytes: 0,
    blkReadBytes: 0,
    blkWriteBytes: 0,
    runMs: 0,
  });

  it("never yields a negative bucket, and the parts add up to the total", () => {
    const parts = spread(0, 6, delta(3), 1).map(([, p]) => p.cpuNs);
    expect(parts).toHaveLength(6);
    expect(parts.every((v) => v >= 0)).toBe(true);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(3);
    for (const [n, buckets] of [
      [1, 7],
      [5, 9],
      [2, 13],
      [1000, 7],
    ] as const) {
      const p = spread(0, buckets * 10, delta(n), 10).map(([, x]) => x.cpuNs);
      expect(p.every((v) => v >= 0)).toBe(true);
      expect(p.reduce((a, b) => a + b, 0)).toBe(n);
    }
  });
});
