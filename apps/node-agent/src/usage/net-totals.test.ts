import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newContainerId } from "@berth/core";
import { memoryLogger } from "../control/logger";
import { advanceNet, type VethBytes } from "./net-totals";
import { usageReading } from "./testing/usage-reading";
import { UsageSpool } from "./usage-spool";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-net-totals-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse("2026-11-02T10:00:00.000Z");
const EPOCH = new Date(T0).toISOString();
const b = (rx: number, tx = 0): VethBytes => ({ rx, tx });

/** What the server bills from a series of totals: cur − last, a drop counting as a reset. */
function billed(totals: number[]): number {
  let sum = 0;
  let last: number | undefined;
  for (const t of totals) {
    sum += last === undefined || t < last ? t : t - last;
    last = t;
  }
  return sum;
}

describe("advanceNet", () => {
  it("adds each veth's delta; a vanished veth stays counted; a new or reset one adds its value", () => {
    let n = advanceNet(undefined, { a: b(100, 10), b: b(50, 5) }, 1);
    expect([n.rx, n.tx]).toEqual([150, 15]);
    n = advanceNet(n, { a: b(130, 12), b: b(60, 5) }, 2);
    expect([n.rx, n.tx]).toEqual([190, 17]);
    // b disconnected: its 60 bytes stay in the total.
    n = advanceNet(n, { a: b(140, 12) }, 3);
    expect([n.rx, n.tx]).toEqual([200, 17]);
    // b reconnected under the same name: a fresh veth from 0.
    n = advanceNet(n, { a: b(140, 12), b: b(7, 1) }, 4);
    expect([n.rx, n.tx]).toEqual([207, 18]);
    // a re-created with a counter already above its old last: counted as new (dropped on vanish).
    n = advanceNet(n, { b: b(7, 1) }, 5);
    n = advanceNet(n, { a: b(500, 0), b: b(8, 1) }, 6);
    expect(n.rx).toBe(207 + 500 + 1);
  });
});

describe("UsageSpool network totals", () => {
  it("disconnect / reconnect sequences never bill twice, across an agent restart", () => {
    const id = newContainerId();
    const r = (at: number, veths: Record<string, VethBytes>) =>
      usageReading({ containerId: id, epoch: EPOCH, at: T0 + at, veths, netRxBytes: 0 });
    // True bytes per veth generation: eth0 1000, eth1 300 then disconnected, eth1 again 40.
    const steps: Record<string, VethBytes>[] = [
      { v0: b(400), v1: b(100) },
      { v0: b(700), v1: b(300) },
      { v0: b(900) }, // v1 disconnected
      { v0: b(1000), v1: b(10) }, // reconnected: a new veth
    ];
    const s1 = UsageSpool.open(dir, memoryLogger());
    const sent: number[] = [];
    steps.forEach((v, i) =>
      sent.push(...s1.record([r((i + 1) * 1000, v)]).map((x) => x.netRxBytes)),
    );
    s1.ack(s1.lastSeq); // compaction writes the state file
    s1.close();
    // The agent restarts: the totals continue from the state file.
    const s2 = UsageSpool.open(dir, memoryLogger());
    sent.push(...s2.record([r(5000, { v0: b(1000), v1: b(40) })]).map((x) => x.netRxBytes));
    sent.push(...s2.record([r(6000, { v0: b(1000) })]).map((x) => x.netRxBytes));
    s2.close();
    expect(sent).toEqual([500, 1000, 1200, 1310, 1340, 1340]);
    for (let i = 1; i < sent.length; i++) expect(sent[i]).toBeGreaterThanOrEqual(sent[i - 1]!);
    expect(billed(sent)).toBe(1000 + 300 + 40);
    // No sample carries the per-veth readings.
    expect(s2.pending().every((x) => !("veths" in x))).toBe(true);
  });

  it("after a crash with a state file older than the spool, totals never drop below those sent", () => {
    const id = newContainerId();
    const r = (at: number, veths: Record<string, VethBytes>) =>
      usageReading({ containerId: id, epoch: EPOCH, at: T0 + at, veths });
    const s1 = UsageSpool.open(dir, memoryLogger());
    s1.record([r(1000, { v0: b(100), v1: b(50) })]);
    s1.ack(1); // state file: totals 150
    s1.record([r(2000, { v0: b(120), v1: b(80) })]); // sent 200, only in the spool
    // Crash (no close); v1 vanished meanwhile.
    const s2 = UsageSpool.open(dir, memoryLogger());
    const [x] = s2.record([r(3000, { v0: b(130) })]);
    expect(x!.netRxBytes).toBeGreaterThanOrEqual(200);
    s2.close();
  });
});
