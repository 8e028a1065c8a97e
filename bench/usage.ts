/**
 * bench/usage: the agent's CPU cost of usage accounting. Starts N (default 100) idle `sleep`
 * containers through the agent's engine (ContainerService in-process, temp state dir, bridge
 * networking with a bench prefix so each container has a veth to read), then samples them with
 * the real UsageSampler + UsageSpool every --interval seconds (default 5) for --seconds (default
 * 60), acking each round as the server would (so the spool is rewritten each round too).
 * Prints the CPU time of a round (process.cpuUsage around it: cgroup files, veth counters,
 * integration, one append + fsync, the ack's rewrite) and what that is as a share of one core
 * at the interval; and, as a cross-check, the whole process's CPU over the sampling window
 * against an equally long idle window before it.
 *
 *   node --import tsx bench/usage.ts [--count 100] [--interval 5] [--seconds 60]     (root)
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CommandSchemas, newContainerId } from "@berth/core";
import { ContainerService } from "../apps/node-agent/src/containers/container-service";
import { memoryLogger } from "../apps/node-agent/src/control/logger";
import { cleanupAll } from "../apps/node-agent/src/network/cleanup";
import { UsageSampler } from "../apps/node-agent/src/usage/usage-sampler";
import { UsageSpool } from "../apps/node-agent/src/usage/usage-spool";
import { BENCH_NET_PREFIX, median, percentile, table } from "./lib";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "100" },
    interval: { type: "string", default: "5" },
    seconds: { type: "string", default: "60" },
  },
});
const count = Number(values.count);
const intervalMs = Number(values.interval) * 1000;
const windowMs = Number(values.seconds) * 1000;
if (
  !Number.isInteger(count) ||
  count < 1 ||
  count > 500 ||
  !(intervalMs >= 200) ||
  !(windowMs >= intervalMs)
) {
  console.error("usage bench: --count 1..500, --interval ≥ 0.2 s, --seconds ≥ interval");
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function main() {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-bench-usage-"));
  const svc = await ContainerService.create({ stateDir, network: { prefix: BENCH_NET_PREFIX } });
  const spool = UsageSpool.open(stateDir, memoryLogger());
  const sampler = new UsageSampler({ source: svc, spool, intervalMs, log: memoryLogger() });
  try {
    const t0 = Date.now();
    for (let i = 0; i < count; i++)
      await svc.run(
        CommandSchemas["container.run"].params.parse({
          containerId: newContainerId(),
          name: `usage-bench-${process.pid}-${i}`,
          spec: { image: "busybox", command: ["sleep", "100000"] },
        }),
      );
    console.log(`usage bench: started ${count} containers (with veths) in ${Date.now() - t0} ms`);
    await sleep(3000);

    // Idle baseline: the engine alone (exit watchers, timers), no sampling.
    const idle0 = process.cpuUsage();
    await sleep(windowMs);
    const idleMs = cpuMs(process.cpuUsage(idle0));

    // Sampling rounds at the interval, each acked like the server does.
    const roundCpu: number[] = [];
    const roundWall: number[] = [];
    let samples = 0;
    let bytes = 0;
    const busy0 = process.cpuUsage();
    const end = Date.now() + windowMs;
    while (Date.now() < end) {
      const next = Date.now() + intervalMs;
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const n = await sampler.sampleAll();
      bytes += statSync(join(spool.dir, "spool.jsonl")).size;
      spool.ack(spool.lastSeq);
      roundWall.push(performance.now() - w0);
      roundCpu.push(cpuMs(process.cpuUsage(c0)));
      samples += n;
      await sleep(Math.max(0, next - Date.now()));
    }
    const busyMs = cpuMs(process.cpuUsage(busy0));
    const rounds = roundCpu.length;
    if (samples !== rounds * count)
      console.warn(
        `usage bench: ${samples} samples in ${rounds} rounds (expected ${rounds * count})`,
      );
    const perRound = median(roundCpu);
    console.log(
      `\nusage accounting, ${count} containers every ${intervalMs / 1000} s, ${rounds} rounds:\n`,
    );
    console.log(
      table([
        ["measure", "value"],
        ["CPU per round, median (ms)", perRound.toFixed(1)],
        ["CPU per round, p95 (ms)", percentile(roundCpu, 95).toFixed(1)],
        ["wall per round, median (ms)", median(roundWall).toFixed(1)],
        ["CPU per container sample (µs)", ((perRound / count) * 1000).toFixed(0)],
        [
          `agent CPU for sampling (% of one core at ${intervalMs / 1000} s)`,
          ((perRound / intervalMs) * 100).toFixed(3),
        ],
        ["spool bytes per sample", (bytes / samples).toFixed(0)],
        [
          "whole process: CPU % sampling − idle window (noisy: GC, timers)",
          (((busyMs - idleMs) / windowMs) * 100).toFixed(3),
        ],
      ]),
    );
  } finally {
    await sampler.stop();
    spool.close();
    await Promise.all(
      svc
        .list()
        .map((c) =>
          svc
            .remove(
              CommandSchemas["container.remove"].params.parse({ containerId: c.id, force: true }),
            )
            .catch((e: unknown) => console.error(`cleanup of ${c.id}: ${(e as Error).message}`)),
        ),
    );
    await svc.close();
    await cleanupAll(BENCH_NET_PREFIX, stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
