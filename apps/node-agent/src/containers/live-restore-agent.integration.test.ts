/**
 * Live restore end to end: a real berth-server (apps/web/server.ts, temp data dir, free port)
 * and the real berth-agent process (src/main.ts) joined to it; 20 counting containers run through
 * the CLI; the agent is SIGKILLed by pid, 2 containers exit while it is down, the agent starts
 * again, and the server must show 18 running + 2 exited (with their exit code) within seconds,
 * with the same pids on the host and continuous logs through `berth logs`.
 * Containers, both processes and temp dirs are removed even on failure.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ContainerRecordSchema, containerPaths } from "./container-record";
import { AgentServerStack, stopProcess } from "./testing/agent-server-stack";
import { rootOrCi, tempStateDir } from "./testing/integration-fixture";

const ENABLED = rootOrCi("live restore (agent + server) needs root", process.env.CI === "true");

const N = 20;
const EXIT_DURING_DOWNTIME = 2;
const TERM_EXIT_CODE = 7;
const COUNTER = `trap 'exit ${TERM_EXIT_CODE}' TERM; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done`;

/** Server, agent and CLI; probes poll every 100 ms (they spawn the CLI or call the server). */
const stack = new AgentServerStack({
  env: process.env,
  tmp: tempStateDir("berth-live-restore-e2e-", ENABLED),
  netPrefix: "bnlra",
  password: "live-restore-password",
  pollMs: 100,
});
const { agentDir } = stack;
const cli = (...args: string[]) => stack.cli(...args);
const waitFor = stack.waitFor.bind(stack);

const PsSchema = z.array(
  z.looseObject({
    id: z.string(),
    name: z.string(),
    state: z.string(),
    exitCode: z.number().int().nullable(),
  }),
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ps = () => PsSchema.parse(JSON.parse(cli("ps", "-a", "--json")));
const ticks = (id: string) =>
  [...cli("logs", id).matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
const pidOnHost = (id: string) =>
  ContainerRecordSchema.parse(
    JSON.parse(readFileSync(containerPaths(agentDir, id).stateFile, "utf8")),
  ).pid;

afterAll(async () => {
  if (ENABLED) await stack.teardown();
}, 240_000);

describe.runIf(ENABLED)("live restore with the real agent and server", () => {
  it("the server shows adopted and exited containers within seconds of an agent SIGKILL + restart", async () => {
    await stack.startServer();
    await stack.startAgent(await stack.joinToken());
    const login = stack.login();
    expect(login.status, login.stderr).toBe(0);

    const names = Array.from({ length: N }, (_, i) => `lr-e2e-${process.pid}-${i}`);
    for (const n of names) cli("run", "-d", "--name", n, "busybox", "sh", "-c", COUNTER);
    const before = ps()
      .filter((c) => names.includes(c.name))
      .sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
    expect(before.map((c) => c.state)).toEqual(Array(N).fill("running"));
    const pids = new Map(before.map((c) => [c.id, pidOnHost(c.id)!]));
    for (const p of pids.values()) expect(alive(p)).toBe(true);

    await stopProcess(stack.agent, "SIGKILL");
    const exiting = before.slice(0, EXIT_DURING_DOWNTIME);
    for (const c of exiting) process.kill(pids.get(c.id)!, "SIGTERM");
    await waitFor(
      "2 containers to exit while the agent is down",
      () => exiting.every((c) => !alive(pids.get(c.id)!)) || undefined,
    );

    const t0 = Date.now();
    await stack.startAgent();
    const after = await waitFor(
      "the server to show 18 running and 2 exited",
      () => {
        const list = ps().filter((c) => names.includes(c.name));
        const exited = list.filter((c) => c.state === "exited");
        const running = list.filter((c) => c.state === "running");
        return running.length === N - EXIT_DURING_DOWNTIME && exited.length === EXIT_DURING_DOWNTIME
          ? list
          : undefined;
      },
      30_000,
    );
    const seenMs = Date.now() - t0;
    console.log(
      `live restore (agent + server): states right on the server ${seenMs} ms after the agent restart`,
    );
    expect(seenMs).toBeLessThan(20_000);
    for (const c of exiting)
      expect(after.find((a) => a.id === c.id)).toMatchObject({
        state: "exited",
        exitCode: TERM_EXIT_CODE,
      });
    for (const c of before.slice(EXIT_DURING_DOWNTIME)) {
      expect(pidOnHost(c.id)).toBe(pids.get(c.id));
      expect(alive(pids.get(c.id)!)).toBe(true);
    }
    for (const c of before) {
      const t = ticks(c.id);
      expect(t.length, c.name).toBeGreaterThan(exiting.includes(c) ? 0 : 10);
      expect(
        t.flatMap((v, i) => (v === i ? [] : [`line ${i} is tick ${v}`])),
        `${c.name}: gap in the counter`,
      ).toEqual([]);
    }
  }, 300_000);
});
