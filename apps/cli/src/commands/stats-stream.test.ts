import { describe, expect, it } from "vitest";
import type { ContainerStats } from "@berth/core";
import { CLEAR_SCREEN, StatsRenderer, statsRowJson } from "./stats-stream";

const MiB = 2 ** 20;
const A = "a".repeat(64);
const B = "b".repeat(64);

function stats(id: string, name: string, totalNs: number, systemNs: number): ContainerStats {
  return {
    id,
    name,
    takenAt: 0,
    cpu: { totalNs, systemNs, onlineCpus: 2 },
    memory: { usageBytes: 20 * MiB, limitBytes: null, cacheBytes: 4 * MiB },
    pids: { current: 3, limit: null },
    blkio: { readBytes: 4_096_000, writeBytes: 1000 },
  };
}

const round = (...s: ContainerStats[]) => ({
  samples: s.map((x) => ({ id: x.id, name: x.name, stats: x })),
});

describe("berth stats streaming redraw", () => {
  it("redraws the whole table, CPU % from the previous sample of each container", () => {
    const r = new StatsRenderer(() => 64 * MiB, false);
    const first = r.frame(round(stats(A, "web", 1_000, 10_000)));
    expect(first.startsWith(CLEAR_SCREEN)).toBe(true);
    const lines = first.slice(CLEAR_SCREEN.length).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
    // No previous sample yet: 0.00% as docker's first frame.
    expect(lines[1]).toMatch(
      /^aaaaaaaaaaaa\s+web\s+0\.00%\s+16MiB \/ 64MiB\s+25\.00%\s+--\s+4\.1MB \/ 1kB\s+3$/,
    );

    // Δcpu 1000 / Δsystem 10000 × 2 CPUs = 20%; a new container starts at 0%.
    const second = r.frame(round(stats(A, "web", 2_000, 20_000), stats(B, "db", 5, 20_000)));
    const rows = second.slice(CLEAR_SCREEN.length).trimEnd().split("\n").slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^aaaaaaaaaaaa\s+web\s+20\.00%/);
    expect(rows[1]).toMatch(/^bbbbbbbbbbbb\s+db\s+0\.00%/);

    // A container gone from the round is gone from the table (and forgotten).
    const third = r.frame(round(stats(B, "db", 1_005, 30_000)));
    const only = third.slice(CLEAR_SCREEN.length).trimEnd().split("\n").slice(1);
    expect(only).toHaveLength(1);
    expect(only[0]).toMatch(/^bbbbbbbbbbbb\s+db\s+20\.00%/);
  });

  it("an empty round draws only the header", () => {
    const r = new StatsRenderer(() => null, false);
    expect(r.frame({ samples: [] }).slice(CLEAR_SCREEN.length).trimEnd()).toMatch(
      /^CONTAINER ID\s+NAME\s+CPU %.*PIDS$/,
    );
  });

  it("--format json: one object per container per round with docker's keys", () => {
    const r = new StatsRenderer(() => 64 * MiB, true);
    const out = r.jsonLines(round(stats(A, "web", 1_000, 10_000), stats(B, "db", 1, 10)));
    const objs = out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(objs).toHaveLength(2);
    expect(objs[0]).toEqual({
      BlockIO: "4.1MB / 1kB",
      CPUPerc: "0.00%",
      Container: A,
      ID: A,
      MemPerc: "25.00%",
      MemUsage: "16MiB / 64MiB",
      Name: "web",
      NetIO: "--",
      PIDs: "3",
    });
    expect(JSON.parse(statsRowJson(["i", "n", "1%", "m", "2%", "--", "b", "4"]))).toMatchObject({
      ID: "i",
      PIDs: "4",
    });
  });
});
