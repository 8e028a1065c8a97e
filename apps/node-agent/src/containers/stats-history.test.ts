import { describe, expect, it } from "vitest";
import type { ContainerStats, ContainerStatus } from "@berth/core";
import { parseNodeSample, readNodeSample, StatsHistoryRecorder, toPoint } from "./stats-history";

describe("node samples", () => {
  it("reads this host's /proc: cpu, memory, tasks and a rate over two samples", async () => {
    const a = await readNodeSample();
    // Burn some CPU between the samples so the rate is not zero.
    const until = Date.now() + 120;
    while (Date.now() < until) Math.sqrt(Math.random());
    const b = await readNodeSample();
    expect(a.memoryTotalBytes).toBeGreaterThan(64 * 1024 * 1024);
    expect(b.memoryBytes).toBeGreaterThan(0);
    expect(b.memoryBytes).toBeLessThanOrEqual(b.memoryTotalBytes);
    expect(b.pids).toBeGreaterThan(1);
    expect(b.counters.onlineCpus).toBeGreaterThanOrEqual(1);
    const p = toPoint(a.counters, b.counters, {
      memoryBytes: b.memoryBytes,
      memoryLimitBytes: b.memoryTotalBytes,
      pids: b.pids,
    });
    expect(p.cpuPercent).toBeGreaterThan(0);
    expect(p.cpuPercent).toBeLessThanOrEqual(100 * b.counters.onlineCpus + 1);
  });

  it("parses the /proc formats: whole disks only, lo left out of the network", () => {
    const s = parseNodeSample(1000, {
      stat: "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0\ncpu1 50 0 25 400 25 0 0 0\n",
      meminfo: "MemTotal:       2048 kB\nMemFree:         512 kB\nMemAvailable:   1024 kB\n",
      netdev:
        "Inter-|   Receive\n face |bytes\n    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n  eth0: 100 1 0 0 0 0 0 0 40 1 0 0 0 0 0 0\n",
      diskstats:
        "   8       0 sda 10 0 4 0 5 0 2 0 0 0 0\n   8       1 sda1 10 0 4 0 5 0 2 0 0 0 0\n   7       0 loop0 1 0 8 0 0 0 0 0 0 0 0\n",
      loadavg: "0.10 0.20 0.30 2/345 6789\n",
      blocks: ["sda", "loop0"],
    });
    expect(s.counters).toMatchObject({ cpuNs: 150e7, cpuTotalNs: 1000e7, onlineCpus: 2 });
    expect(s.counters).toMatchObject({ rx: 100, tx: 40, read: 4 * 512, write: 2 * 512 });
    expect(s).toMatchObject({ memoryBytes: 1024 * 1024, memoryTotalBytes: 2048 * 1024, pids: 345 });
  });
});

describe("StatsHistoryRecorder", () => {
  const status = (id: string, state: ContainerStatus["state"]) =>
    ({ id, state }) as ContainerStatus;
  const sample = (id: string, t: number, cpuNs: number): ContainerStats => ({
    id,
    name: id,
    takenAt: t,
    cpu: { totalNs: cpuNs, systemNs: t * 1e6 * 2, onlineCpus: 2 },
    memory: { usageBytes: 1000 + t, limitBytes: null, cacheBytes: 0 },
    pids: { current: 3, limit: null },
    blkio: { readBytes: t, writeBytes: 2 * t },
    net: { rxBytes: 10 * t, txBytes: 0, rxPackets: 0, txPackets: 0 },
  });

  it("keeps one point per round, bounded to the hour, rates from consecutive samples", async () => {
    let t = 0;
    let list = [status("a", "running"), status("b", "exited")];
    const r = new StatsHistoryRecorder(
      { list: () => list, stats: async (id) => sample(id, t, t * 1e6) },
      1_200_000, // 3 points make the hour
      () => readNodeSample(),
    );
    for (t = 1000; t <= 5000; t += 1000) await r.sample();
    const h = r.history({ containerId: "a" });
    expect(h.intervalMs).toBe(1_200_000);
    expect(h.points.map((p) => p.t)).toEqual([3000, 4000, 5000]);
    // Δcpu 1e9 ns over Δsystem 2e9 ns × 2 cpus = 100 %; rx 10 bytes per ms = 10 kB/s.
    expect(h.points[2]).toMatchObject({ cpuPercent: 100, netRxBps: 10_000, ioWriteBps: 2000 });
    expect(r.history({ containerId: "a", afterMs: 4000 }).points.map((p) => p.t)).toEqual([5000]);
    expect(r.history({ containerId: "b" }).points).toEqual([]); // never running: not sampled
    expect(r.history({}).points).toHaveLength(3); // the node
    list = [];
    await r.sample();
    expect(r.history({ containerId: "a" }).points).toEqual([]); // removed: history dropped
  });
});
