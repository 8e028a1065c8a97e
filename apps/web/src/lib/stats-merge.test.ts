import { describe, expect, it } from "vitest";
import { MAX_STATS_POINTS, type StatsPoint } from "@berth/core";
import { mergeStatsHistory, STATS_WINDOW_MS } from "./stats-merge";

const point = (t: number, cpuPercent = 1): StatsPoint => ({
  t,
  cpuPercent,
  memoryBytes: 1,
  memoryLimitBytes: null,
  netRxBps: 0,
  netTxBps: 0,
  ioReadBps: 0,
  ioWriteBps: 0,
  pids: 1,
});
const hist = (ts: number[], intervalMs = 5000) => ({ intervalMs, points: ts.map((t) => point(t)) });

describe("mergeStatsHistory", () => {
  it("takes the first page as it is", () => {
    const page = hist([1000, 6000]);
    expect(mergeStatsHistory(undefined, page)).toBe(page);
  });

  it("appends only points newer than the newest it holds", () => {
    const merged = mergeStatsHistory(hist([1000, 6000]), hist([6000, 11_000, 16_000]));
    expect(merged.points.map((p) => p.t)).toEqual([1000, 6000, 11_000, 16_000]);
  });

  it("keeps the same object's points when nothing is new (a stopped container)", () => {
    const prev = hist([1000, 6000]);
    expect(mergeStatsHistory(prev, hist([])).points).toBe(prev.points);
  });

  it("drops points older than an hour before the newest", () => {
    const t0 = 10_000_000;
    const merged = mergeStatsHistory(
      hist([t0, t0 + 5000, t0 + 10_000]),
      hist([t0 + STATS_WINDOW_MS + 5000]),
    );
    expect(merged.points.map((p) => p.t)).toEqual([t0 + 10_000, t0 + STATS_WINDOW_MS + 5000]);
  });

  it("never holds more than the agent's maximum and takes the page's interval", () => {
    const many = Array.from({ length: MAX_STATS_POINTS }, (_, i) => i * 10);
    const merged = mergeStatsHistory(hist(many, 1000), hist([MAX_STATS_POINTS * 10], 2000));
    expect(merged.points).toHaveLength(MAX_STATS_POINTS);
    expect(merged.points.at(-1)!.t).toBe(MAX_STATS_POINTS * 10);
    expect(merged.points[0]!.t).toBe(10);
    expect(merged.intervalMs).toBe(2000);
  });
});
