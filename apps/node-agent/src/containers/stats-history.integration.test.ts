/**
 * Root integration test of the stats history (stats-history.ts) with a real container: the
 * engine samples it every 5 s from its cgroup, `stats.history` returns the points with the
 * container's CPU (a busy loop ≈ one CPU), memory and pids, and the node's own history; the
 * ring goes with the container. afterAll removes every container, mount and dir.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import {
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "stats history integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);
const dir = tempStateDir("berth-stats-it-", ENABLED);
let svc: ContainerService | undefined;

afterAll(async () => {
  if (svc) await removeAllAndClose(svc).catch(() => undefined);
  if (dir) removeStateDir(dir);
});

describe.runIf(ENABLED)("stats history", () => {
  it("keeps a running container's cpu, memory and pids, and the node's", async () => {
    svc = await ContainerService.create({ stateDir: dir });
    const s = svc;
    const p = runParams("stats", { command: ["sh", "-c", "while :; do :; done"] });
    await s.run(p);
    // A point needs two samples (5 s apart); two points need three.
    const h = await waitFor(
      "two samples of the container",
      () => {
        const h = s.statsHistory({ containerId: p.containerId });
        return h.points.length >= 2 ? h : undefined;
      },
      30_000,
      250,
    );
    expect(h.intervalMs).toBe(5000);
    const last = h.points.at(-1)!;
    expect(last.cpuPercent).toBeGreaterThan(20); // a busy loop, on a shared host
    expect(last.cpuPercent).toBeLessThan(150);
    expect(last.memoryBytes).toBeGreaterThan(0);
    expect(last.pids).toBeGreaterThanOrEqual(1);
    const node = s.statsHistory({});
    expect(node.points.length).toBeGreaterThanOrEqual(2);
    expect(node.points.at(-1)!.memoryLimitBytes).toBeGreaterThan(0);
    expect(s.statsHistory({ containerId: p.containerId, afterMs: last.t }).points).toEqual([]);

    await s.remove({ containerId: p.containerId, force: true });
    expect(() => s.statsHistory({ containerId: p.containerId })).toThrow(/not found/);
  }, 60_000);
});
