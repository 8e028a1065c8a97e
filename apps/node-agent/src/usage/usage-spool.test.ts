import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newContainerId } from "@berth/core";
import { memoryLogger } from "../control/logger";
import { usageReading } from "./testing/usage-reading";
import { USAGE_DIR, UsageSpool, type UsageReading } from "./usage-spool";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-usage-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse("2026-11-02T10:00:00.000Z");
const EPOCH = new Date(T0).toISOString();
const MiB = 1024 * 1024;

const reading = (
  containerId: string,
  at: number,
  memBytes: number,
  extra: Partial<UsageReading> = {},
): UsageReading => usageReading({ containerId, epoch: EPOCH, at, memBytes, ...extra });

describe("UsageSpool", () => {
  it("numbers, integrates memory (trapezoids) and keeps samples until acked", () => {
    const s = UsageSpool.open(dir, memoryLogger());
    const id = newContainerId();
    const [a] = s.record([reading(id, T0 + 2000, 100 * MiB)]);
    const [b] = s.record([reading(id, T0 + 4000, 100 * MiB)]);
    expect([a!.seq, b!.seq]).toEqual([1, 2]);
    // From the start (0 bytes) to 2 s: a ramp; then flat 100 MiB for 2 s.
    expect(a!.memByteSec).toBe(100 * MiB);
    expect(b!.memByteSec).toBe(300 * MiB);
    expect(s.pending().map((x) => x.seq)).toEqual([1, 2]);
    expect(s.ack(1)).toBe(1);
    expect(s.pending(0, 10).map((x) => x.seq)).toEqual([2]);
    s.close();
  });

  it("after a crash (no close) the next agent resumes seqs and integrals; a torn line is skipped", () => {
    const id = newContainerId();
    const s1 = UsageSpool.open(dir, memoryLogger());
    s1.record([reading(id, T0 + 1000, 10 * MiB)]);
    s1.ack(1); // compacted: the integral now lives in the state file only
    s1.record([reading(id, T0 + 2000, 10 * MiB)]);
    appendFileSync(join(dir, USAGE_DIR, "spool.jsonl"), '{"seq":3,"contai');
    const s2 = UsageSpool.open(dir, memoryLogger());
    expect(s2.pending().map((x) => x.seq)).toEqual([2]);
    const [c] = s2.record([reading(id, T0 + 12_000, 10 * MiB)]);
    expect(c!.seq).toBe(3);
    // 5 MiB·s (ramp) + 10 MiB·s + 100 MiB·s across the agent's downtime.
    expect(c!.memByteSec).toBe(115 * MiB);
    expect(
      readFileSync(join(dir, USAGE_DIR, "spool.jsonl"), "utf8")
        .trim()
        .split("\n"),
    ).toHaveLength(2);
    s2.close();
  });

  it("drops a reading older than the last one or after the run's final sample", () => {
    const s = UsageSpool.open(dir, memoryLogger());
    const id = newContainerId();
    s.record([reading(id, T0 + 5000, MiB, { final: true })]);
    expect(s.record([reading(id, T0 + 4000, MiB)])).toEqual([]);
    expect(s.record([reading(id, T0 + 6000, MiB)])).toEqual([]);
    // A new run (epoch) starts over.
    const next = s.record([
      reading(id, T0 + 9000, MiB, { epoch: new Date(T0 + 8000).toISOString() }),
    ]);
    expect(next.map((x) => [x.seq, x.memByteSec])).toEqual([[2, MiB / 2]]);
    s.close();
  });

  it("renumbers pending samples above a server seq it never issued", () => {
    const s = UsageSpool.open(dir, memoryLogger());
    const id = newContainerId();
    s.record([reading(id, T0 + 1000, MiB), reading(newContainerId(), T0 + 1000, MiB)]);
    expect(s.reconcile(40)).toEqual({ dropped: 0, renumbered: 2 });
    expect(s.pending().map((x) => x.seq)).toEqual([41, 42]);
    expect(s.record([reading(id, T0 + 2000, MiB)])[0]!.seq).toBe(43);
    s.close();
  });
});

describe("UsageSpool thinning", () => {
  it("beyond maxPending drops every other sample of a run, never its last or final one", () => {
    const s = UsageSpool.open(dir, memoryLogger(), { maxPending: 10 });
    const a = newContainerId();
    const b = newContainerId();
    for (let i = 1; i <= 5; i++)
      s.record([
        reading(a, T0 + i * 1000, MiB, { cpuNs: i * 1e9 }),
        reading(b, T0 + i * 1000, MiB, { cpuNs: i * 2e9, final: i === 5 }),
      ]);
    // 10 pending: not yet; the 11th sample triggers it.
    expect(s.size).toBe(10);
    s.record([reading(a, T0 + 6000, MiB, { cpuNs: 6e9 })]);
    const left = s.pending();
    expect(left.length).toBeLessThan(10);
    const ofA = left.filter((x) => x.containerId === a);
    const ofB = left.filter((x) => x.containerId === b);
    // The newest cumulative values survive: nothing is lost, only resolution.
    expect(ofA.at(-1)).toMatchObject({ cpuNs: 6e9 });
    expect(ofB.at(-1)).toMatchObject({ cpuNs: 10e9, final: true });
    expect(left.map((x) => x.seq)).toEqual([...left.map((x) => x.seq)].sort((x, y) => x - y));
    // The file holds the same after a reopen.
    s.close();
    expect(UsageSpool.open(dir, memoryLogger()).pending()).toEqual(left);
  });
});
