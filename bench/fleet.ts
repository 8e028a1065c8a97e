/**
 * bench/fleet: can one berth-server hold a large fleet? For each fleet size it starts the real
 * server (HTTP app + agent gateway over a fresh SQLite database, no dashboard) in a child
 * process, and simulated agents (bench/fleet-agents.ts: light clients of the real protocol, for
 * load only) in worker processes, all on 127.0.0.1. Once every agent is connected and
 * heartbeating every 5 s, it measures the server's CPU and RSS while idle (heartbeats only),
 * then has the server send `volume.list` commands to random agents at a fixed rate and prints
 * the p50 / p99 command round trip (send → result, in the server) and the CPU meanwhile.
 *
 *   node --import tsx bench/fleet.ts [--agents 1000,5000,19900] [--workers 2] [--rate 200]
 *                                    [--commands 2000] [--settle 12]
 *                                    [--server-node-options "--max-semi-space-size=64"]
 *
 * File descriptors: every agent is one socket in the server and one in a worker. The hard
 * limit here is 20,000 per process (root cannot raise it in this container), so the server can
 * hold at most ~19,950 agents (it needs its own few dozen fds); the largest run uses 19,900
 * and the agents are split over two worker processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { newId, newSecret } from "@berth/core";
import type { BenchNode, FromAgents, FromServer, ToServer } from "./fleet-protocol";
import { percentile, root, table } from "./lib";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "1000,5000,19900" },
    workers: { type: "string", default: "2" },
    rate: { type: "string", default: "200" },
    commands: { type: "string", default: "2000" },
    settle: { type: "string", default: "12" },
    /** Extra node flags for the server process, e.g. --max-semi-space-size=64. */
    "server-node-options": { type: "string", default: "" },
  },
});
const sizes = values.agents.split(",").map(Number);
const workers = Number(values.workers);
const rate = Number(values.rate);
const commandCount = Number(values.commands);
const settleS = Number(values.settle);
const TICK = 100; // USER_HZ

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime
}
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}
/** CPU % of one core used by `pid` while `during` runs. */
async function cpuDuring<T>(pid: number, during: () => Promise<T>): Promise<[T, number]> {
  const c0 = cpuTicks(pid);
  const t0 = performance.now();
  const out = await during();
  const seconds = (performance.now() - t0) / 1000;
  return [out, ((cpuTicks(pid) - c0) / TICK / seconds) * 100];
}

const serverFlags = values["server-node-options"].split(/\s+/).filter(Boolean);

function child(script: string, args: string[], flags: string[] = []): ChildProcess {
  const p = spawn(
    process.execPath,
    [...flags, "--import", "tsx", join(root, "bench", script), ...args],
    {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  return p;
}
function next<T>(p: ChildProcess, match: (m: T) => boolean, timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("child did not answer in time")), timeoutMs);
    const on = (m: T) => {
      if (!match(m)) return;
      clearTimeout(timer);
      p.off("message", on);
      resolve(m);
    };
    p.on("message", on);
    p.once("exit", (code) => reject(new Error(`child exited (${code})`)));
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  agents: number;
  connectS: number;
  idleCpu: number;
  idleRss: number;
  driveCpu: number;
  driveRss: number;
  p50: number;
  p99: number;
  max: number;
  failures: number;
  heartbeatsPerS: number;
  loopP99: number;
}

async function run(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-fleet-"));
  const nodesFile = join(dir, "nodes.json");
  const fleet: BenchNode[] = Array.from({ length: n }, (_, i) => ({
    id: newId(),
    name: `sim-${i}`,
    secret: newSecret(),
  }));
  writeFileSync(nodesFile, JSON.stringify(fleet));
  const server = child("fleet-server.ts", [dir, nodesFile], serverFlags);
  const agents: ChildProcess[] = [];
  try {
    const { port } = await next<FromServer>(server, (m) => m.type === "listening").then(
      (m) => m as Extract<FromServer, { type: "listening" }>,
    );
    const per = Math.ceil(n / workers);
    const t0 = performance.now();
    for (let w = 0; w < workers && w * per < n; w++)
      agents.push(
        child("fleet-agents.ts", [
          String(port),
          nodesFile,
          String(w * per),
          String(Math.min(n, (w + 1) * per)),
        ]),
      );
    const connected = await Promise.all(
      agents.map((a) =>
        next<FromAgents>(a, (m) => m.type === "connected").then(
          (m) => m as Extract<FromAgents, { type: "connected" }>,
        ),
      ),
    );
    const connectS = (performance.now() - t0) / 1000;
    const failed = connected.reduce((a, c) => a + c.failed, 0);
    server.send({ type: "count" } satisfies ToServer);
    const count = (await next<FromServer>(server, (m) => m.type === "count")) as Extract<
      FromServer,
      { type: "count" }
    >;
    console.log(
      `  ${n} agents: ${count.connected} connected in ${connectS.toFixed(1)} s (${failed} failed)`,
    );
    // Let the first heartbeats spread over a whole interval, then measure idle load.
    await sleep(5500);
    for (const a of agents) trackHeartbeats(a);
    const beats0 = await heartbeatTotal(agents);
    const beatsT0 = performance.now();
    const [, idleCpu] = await cpuDuring(server.pid!, () => sleep(settleS * 1000));
    const heartbeatsPerS =
      ((await heartbeatTotal(agents)) - beats0) / ((performance.now() - beatsT0) / 1000);
    const idleRss = rssMiB(server.pid!);
    const [driven, driveCpu] = await cpuDuring(server.pid!, async () => {
      server.send({ type: "drive", count: commandCount, ratePerSecond: rate } satisfies ToServer);
      return (await next<FromServer>(server, (m) => m.type === "driven")) as Extract<
        FromServer,
        { type: "driven" }
      >;
    });
    const driveRss = rssMiB(server.pid!);
    return {
      agents: count.connected,
      connectS,
      idleCpu,
      idleRss,
      driveCpu,
      driveRss,
      p50: percentile(driven.rttsMs, 50),
      p99: percentile(driven.rttsMs, 99),
      max: Math.max(...driven.rttsMs),
      failures: driven.failures,
      heartbeatsPerS,
      loopP99: driven.loopDelayP99Ms,
    };
  } finally {
    for (const a of agents) a.kill("SIGKILL");
    server.kill("SIGKILL");
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Heartbeats sent so far by every worker, from their latest 1 s report. Each worker keeps a
 * listener from its start: a channel nobody listens to is not read, and its backlog would
 * hand over stale reports.
 */
const latestHeartbeats = new Map<ChildProcess, number>();
function trackHeartbeats(worker: ChildProcess): void {
  worker.on("message", (m: FromAgents) => {
    if (m.type === "stats") latestHeartbeats.set(worker, m.heartbeats);
  });
}
async function heartbeatTotal(agents: ChildProcess[]): Promise<number> {
  await sleep(1100); // a fresh report from each
  return agents.reduce((sum, a) => sum + (latestHeartbeats.get(a) ?? 0), 0);
}

console.log(
  `bench/fleet: simulated agents on 127.0.0.1, heartbeat every 5 s; commands: ${commandCount} × volume.list to random agents at ${rate}/s; ${workers} agent worker process(es); ${cpus().length} CPUs (shared); server node flags: ${serverFlags.join(" ") || "none"}; load average at start: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
const rows: Row[] = [];
for (const n of sizes) rows.push(await run(n));
console.log();
console.log(
  table([
    [
      "agents",
      "connect s",
      "heartbeats/s",
      "idle CPU %",
      "idle RSS MiB",
      "cmd CPU %",
      "cmd RSS MiB",
      "p50 ms",
      "p99 ms",
      "max ms",
      "loop p99 ms",
      "failed",
    ],
    ...rows.map((r) => [
      r.agents,
      r.connectS.toFixed(1),
      r.heartbeatsPerS.toFixed(0),
      r.idleCpu.toFixed(1),
      r.idleRss.toFixed(0),
      r.driveCpu.toFixed(1),
      r.driveRss.toFixed(0),
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      r.max.toFixed(1),
      r.loopP99.toFixed(1),
      r.failures,
    ]),
  ]),
);
console.log(
  `\nCPU % is of one core, for the server process only (its agents run in other processes on the same 2 cores); loop p99 is the server's event-loop delay while commands ran. Host load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}. Target: 20,000 agents with p99 < 50 ms.`,
);
