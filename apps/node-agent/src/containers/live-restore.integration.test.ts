/**
 * Live restore at scale, on the real kernel: an engine process (testing/engine-host.ts, the
 * agent's ContainerService in its own process) runs 20 containers that each print a counter line
 * every 200 ms; the test SIGKILLs that process by pid, makes 2 containers exit while no engine
 * is up, then starts the engine again and checks that the 18 others are adopted with the same
 * pids, the 2 exits are recorded with their exit code, and every log is continuous.
 * Everything (containers, the engine process, the temp state dir) is removed even on failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandSchemas, newContainerId, type ContainerStatus } from "@berth/core";
import { afterAll, describe, expect, it } from "vitest";
import { containerPaths } from "./container-record";
import { ContainerService } from "./container-service";
import { rootOrCi, tempStateDir, waitFor } from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "live restore test needs root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const N = 20;
const EXIT_DURING_DOWNTIME = 2;
/** The containers' exit code on SIGTERM (their shell traps it). */
const TERM_EXIT_CODE = 7;
const HOST = join(dirname(fileURLToPath(import.meta.url)), "testing/engine-host.ts");
const AGENT_DIR = join(dirname(fileURLToPath(import.meta.url)), "../..");
const COUNTER = [
  "/bin/sh",
  "-c",
  `trap 'exit ${TERM_EXIT_CODE}' TERM; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done`,
];

const stateDir = tempStateDir("berth-live-restore-", ENABLED);
let host: ChildProcess | undefined;
let svc: ContainerService | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The counter values in a container's k8s-file log, read from disk (no engine needed). */
function ticksOnDisk(id: string): number[] {
  const log = containerPaths(stateDir, id).log;
  if (!existsSync(log)) return [];
  return [...readFileSync(log, "utf8").matchAll(/ stdout F tick (\d+)$/gm)].map((m) =>
    Number(m[1]),
  );
}

/** The counter values through the engine's logs API. */
async function ticksViaApi(s: ContainerService, id: string): Promise<number[]> {
  const out: number[] = [];
  const p = CommandSchemas["container.logs"].params.parse({ containerId: id });
  await s.logs(p, new AbortController().signal, (lines) => {
    for (const l of lines) {
      const m = /^tick (\d+)$/.exec(l.line);
      if (m) out.push(Number(m[1]));
    }
  });
  return out;
}

function expectContinuous(ticks: number[], what: string) {
  expect(ticks.length, `${what}: no counter lines`).toBeGreaterThan(0);
  const gaps = ticks.flatMap((t, i) => (t === i ? [] : [`line ${i} is tick ${t}`]));
  expect(gaps, `${what}: counter lines with a gap`).toEqual([]);
}

async function startHost(params: unknown[]): Promise<ContainerStatus[]> {
  const child = spawn(process.execPath, ["--import", "tsx", HOST, stateDir], {
    cwd: AGENT_DIR,
    stdio: ["pipe", "pipe", "inherit"],
  });
  host = child;
  child.stdin!.end(JSON.stringify(params));
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString("utf8")));
  const line = await waitFor(
    "the engine host to run the containers",
    () => {
      if (child.exitCode !== null) throw new Error(`engine host exited early: ${out}`);
      const nl = out.indexOf("\n");
      return nl >= 0 ? out.slice(0, nl) : undefined;
    },
    120_000,
  );
  const msg = JSON.parse(line) as { statuses?: ContainerStatus[]; error?: string };
  if (!msg.statuses) throw new Error(`engine host failed: ${msg.error}`);
  return msg.statuses;
}

async function killHost(): Promise<void> {
  const child = host;
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  process.kill(child.pid, "SIGKILL");
  await gone;
}

afterAll(async () => {
  if (!ENABLED) return;
  try {
    await killHost();
    svc ??= await ContainerService.create({ stateDir });
    await Promise.all(
      svc
        .list()
        .map((c) =>
          svc!
            .remove(
              CommandSchemas["container.remove"].params.parse({ containerId: c.id, force: true }),
            )
            .catch((e: unknown) => console.error(`cleanup of ${c.id}: ${(e as Error).message}`)),
        ),
    );
    await svc.close();
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}, 180_000);

describe.runIf(ENABLED)("live restore after the engine is SIGKILLed", () => {
  it(`adopts ${N} running containers with the same pids, records the exits that happened while down, keeps logs continuous`, async () => {
    const params = Array.from({ length: N }, (_, i) => ({
      containerId: newContainerId(),
      name: `live-restore-${process.pid}-${i}`,
      spec: { image: "busybox", command: COUNTER },
    }));
    const before = await startHost(params);
    expect(before.map((s) => s.state)).toEqual(Array(N).fill("running"));
    const pidOf = new Map(before.map((s) => [s.id, s.pid!]));

    // Every container is counting before the crash.
    await waitFor("every container to print 3 lines", () =>
      before.every((s) => ticksOnDisk(s.id).length >= 3) ? true : undefined,
    );

    await killHost();
    const killedAt = Date.now();
    for (const s of before) expect(alive(s.pid!), `${s.id} died with the engine`).toBe(true);

    // While no engine runs: 2 containers exit (their shell traps SIGTERM → exit 7) …
    const exiting = before.slice(0, EXIT_DURING_DOWNTIME);
    for (const s of exiting) process.kill(s.pid!, "SIGTERM");
    await waitFor("the 2 containers to exit", () =>
      exiting.every((s) => !alive(s.pid!)) ? true : undefined,
    );
    // … and the others keep logging through conmon, which outlives the engine.
    const atKill = new Map(before.map((s) => [s.id, ticksOnDisk(s.id).length]));
    const running = before.slice(EXIT_DURING_DOWNTIME);
    await waitFor("the running containers to log while the engine is down", () =>
      running.every((s) => ticksOnDisk(s.id).length >= atKill.get(s.id)! + 3) ? true : undefined,
    );

    const t0 = Date.now();
    svc = await ContainerService.create({ stateDir });
    const adoptMs = Date.now() - t0;
    console.log(
      `live restore: engine down ${t0 - killedAt} ms; adopted ${N} containers in ${adoptMs} ms`,
    );
    expect(adoptMs).toBeLessThan(10_000);
    // The restarted engine reports every runtime it probed; the selected one first.
    const facts = await svc.facts();
    expect(facts.runtime.name).toBe("runc");
    expect(facts.runtimes?.map((r) => r.name)).toEqual(["runc", "crun"]);
    expect(facts.runtimes?.[0]).toMatchObject({ name: "runc", usable: true });

    for (const s of running) {
      const now = svc.inspect(s.id);
      expect(now.state, s.name).toBe("running");
      expect(now.pid, s.name).toBe(pidOf.get(s.id));
      expect(alive(now.pid!)).toBe(true);
    }
    for (const s of exiting) {
      const now = svc.inspect(s.id);
      expect(now).toMatchObject({ state: "exited", exitCode: TERM_EXIT_CODE });
      expect(Date.parse(now.finishedAt!)).toBeGreaterThanOrEqual(killedAt - 1000);
    }

    // Logs: continuous from tick 0, across the crash, for all 20 (through the engine's API).
    const adoptedAt = new Map(running.map((s) => [s.id, ticksOnDisk(s.id).length]));
    await waitFor("the adopted containers to keep logging", () =>
      running.every((s) => ticksOnDisk(s.id).length >= adoptedAt.get(s.id)! + 2) ? true : undefined,
    );
    for (const s of before) {
      const ticks = await ticksViaApi(svc, s.id);
      expectContinuous(ticks, s.name);
      expect(ticks.length).toBeGreaterThanOrEqual(atKill.get(s.id)!);
    }
    for (const s of running)
      expect((await ticksViaApi(svc, s.id)).length).toBeGreaterThan(atKill.get(s.id)! + 3);
  }, 240_000);
});
