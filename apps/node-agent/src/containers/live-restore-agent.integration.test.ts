/**
 * Live restore end to end: a real berth-server (apps/web/server.ts, temp data dir, free port)
 * and the real berth-agent process (src/main.ts) joined to it; 20 counting containers run through
 * the CLI; the agent is SIGKILLed by pid, 2 containers exit while it is down, the agent starts
 * again, and the server must show 18 running + 2 exited (with their exit code) within seconds,
 * with the same pids on the host and continuous logs through `berth logs`.
 * Containers, both processes and temp dirs are removed even on failure.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandSchemas } from "@berth/core";
import { cleanupAll } from "../network/cleanup";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ContainerRecordSchema, containerPaths } from "./container-record";
import { ContainerService } from "./container-service";
import { rootOrCi, tempStateDir, waitFor as poll } from "./testing/integration-fixture";

const ENABLED = rootOrCi("live restore (agent + server) needs root", process.env.CI === "true");

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const AGENT_DIR = join(REPO, "apps/node-agent");
const CLI = join(REPO, "apps/cli/src/main.ts");
const N = 20;
const EXIT_DURING_DOWNTIME = 2;
const TERM_EXIT_CODE = 7;
const PASSWORD = "live-restore-password";
const COUNTER = `trap 'exit ${TERM_EXIT_CODE}' TERM; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done`;

const tmp = tempStateDir("berth-live-restore-e2e-", ENABLED);
const dataDir = join(tmp, "server");
const agentDir = join(tmp, "agent");
const NET_PREFIX = "bnlra";
const cliEnv = { ...process.env, BERTH_CONFIG_DIR: join(tmp, "cli") };
let server: ChildProcess | undefined;
let agent: ChildProcess | undefined;
let base = "";

const PsSchema = z.array(
  z.looseObject({
    id: z.string(),
    name: z.string(),
    state: z.string(),
    exitCode: z.number().int().nullable(),
  }),
);

/** Polls every 100 ms: the probes here spawn the CLI or call the server. */
const waitFor = <T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 30_000) =>
  poll(what, fn, ms, 100);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startProcess(argv: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (b: Buffer) => (err = (err + b.toString("utf8")).slice(-8192)));
  child.once("exit", (code, sig) => {
    if (code !== 0 && sig !== "SIGKILL" && sig !== "SIGTERM")
      console.error(`${argv.join(" ")} exited (${code ?? sig}): ${err}`);
  });
  return child;
}

async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals) {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  process.kill(child.pid, signal);
  const t = setTimeout(
    () => child.pid && child.exitCode === null && process.kill(child.pid, "SIGKILL"),
    15_000,
  );
  await gone;
  clearTimeout(t);
}

function cli(...args: string[]): string {
  const r = spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO,
    env: cliEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`berth ${args.join(" ")} (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function health(): Promise<{ agentsConnected: number } | undefined> {
  const res = await fetch(`${base}/api/health`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return (await res.json()) as { agentsConnected: number };
}

function startAgent(joinToken?: string) {
  agent = startProcess(
    [
      "--import",
      "tsx",
      "src/main.ts",
      "--server",
      base,
      "--state-dir",
      agentDir,
      ...(joinToken ? ["--join-token", joinToken] : []),
    ],
    AGENT_DIR,
    // A test-only network prefix: never a real agent's berth0 (removed in afterAll).
    { ...process.env, BERTH_NETWORK_PREFIX: NET_PREFIX },
  );
  return waitFor(
    "the agent to connect",
    async () => ((await health())?.agentsConnected ?? 0) > 0 || undefined,
    60_000,
  );
}

const ps = () => PsSchema.parse(JSON.parse(cli("ps", "-a", "--json")));
const ticks = (id: string) =>
  [...cli("logs", id).matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
const pidOnHost = (id: string) =>
  ContainerRecordSchema.parse(
    JSON.parse(readFileSync(containerPaths(agentDir, id).stateFile, "utf8")),
  ).pid;

afterAll(async () => {
  if (!ENABLED) return;
  try {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      // Through the product first (one `berth rm -f` for all); the host-side sweep below is
      // the fallback.
      let ids: string[] = [];
      try {
        ids = ps().map((c) => c.id);
      } catch (e) {
        console.error(`cleanup: berth ps failed: ${(e as Error).message}`);
      }
      if (ids.length > 0)
        spawnSync(process.execPath, ["--import", "tsx", CLI, "rm", "-f", ...ids], {
          cwd: REPO,
          env: cliEnv,
          timeout: 120_000,
        });
    }
    await stopProcess(agent, "SIGTERM");
    await stopProcess(server, "SIGTERM");
    // Whatever the agent could not remove (e.g. it never came back): remove it on the host.
    if (existsSync(join(agentDir, "containers"))) {
      const svc = await ContainerService.create({
        stateDir: agentDir,
        network: { prefix: NET_PREFIX },
      });
      for (const c of svc.list())
        await svc
          .remove(
            CommandSchemas["container.remove"].params.parse({ containerId: c.id, force: true }),
          )
          .catch((e: unknown) => console.error(`cleanup of ${c.id}: ${(e as Error).message}`));
      await svc.close();
    }
    await cleanupAll(NET_PREFIX, agentDir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 240_000);

describe.runIf(ENABLED)("live restore with the real agent and server", () => {
  it("the server shows adopted and exited containers within seconds of an agent SIGKILL + restart", async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = startProcess(["--import", "tsx", "apps/web/server.ts"], REPO, {
      ...process.env,
      NODE_ENV: "production",
      BERTH_PORT: String(port),
      BERTH_HOST: "127.0.0.1",
      BERTH_DATA_DIR: dataDir,
      BERTH_BOOTSTRAP_JOIN_TOKEN: "1",
      BERTH_ADMIN_PASSWORD: PASSWORD,
    });
    await waitFor("berth-server", health, 120_000);
    const tokenFile = join(dataDir, "bootstrap-join-token");
    const token = await waitFor("the join token", () =>
      existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : undefined,
    );
    await startAgent(token);
    const login = spawnSync(
      process.execPath,
      ["--import", "tsx", CLI, "login", "--server", base, "-u", "admin", "--password-stdin"],
      { cwd: REPO, env: cliEnv, input: `${PASSWORD}\n`, encoding: "utf8" },
    );
    expect(login.status, login.stderr).toBe(0);

    const names = Array.from({ length: N }, (_, i) => `lr-e2e-${process.pid}-${i}`);
    for (const n of names) cli("run", "-d", "--name", n, "busybox", "sh", "-c", COUNTER);
    const before = ps()
      .filter((c) => names.includes(c.name))
      .sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
    expect(before.map((c) => c.state)).toEqual(Array(N).fill("running"));
    const pids = new Map(before.map((c) => [c.id, pidOnHost(c.id)!]));
    for (const p of pids.values()) expect(alive(p)).toBe(true);

    await stopProcess(agent, "SIGKILL");
    const exiting = before.slice(0, EXIT_DURING_DOWNTIME);
    for (const c of exiting) process.kill(pids.get(c.id)!, "SIGTERM");
    await waitFor(
      "2 containers to exit while the agent is down",
      () => exiting.every((c) => !alive(pids.get(c.id)!)) || undefined,
    );

    const t0 = Date.now();
    await startAgent();
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
