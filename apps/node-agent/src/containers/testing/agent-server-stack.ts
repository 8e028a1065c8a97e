/**
 * Shared scaffolding of the end-to-end root integration tests that run the real berth-server
 * (apps/web/server.ts, production mode, temp data dir, free port on 127.0.0.1), the real
 * berth-agent process (src/main.ts, a test-only network prefix) joined to it with the bootstrap
 * join token, and the CLI (apps/cli/src/main.ts, its own config dir) logged in as admin.
 * Processes are started and stopped by pid; `teardown` removes the containers (through the
 * product first, then on the host), the agent's networks and the temp dir, even after a failure.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { CommandSchemas } from "@berth/core";
import { cleanupAll } from "../../network/cleanup";
import { ContainerService } from "../container-service";
import { waitFor as poll } from "./integration-fixture";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../..");
const AGENT_DIR = join(REPO, "apps/node-agent");
const CLI = join(REPO, "apps/cli/src/main.ts");

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Starts `node <argv>`; its stderr's tail is printed if it exits other than by SIGKILL/SIGTERM. */
export function startProcess(argv: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (b: Buffer) => (err = (err + b.toString("utf8")).slice(-8192)));
  child.once("exit", (code, sig) => {
    if (code !== 0 && sig !== "SIGKILL" && sig !== "SIGTERM")
      console.error(`${argv.join(" ")} exited (${code ?? sig}): ${err}`);
  });
  return child;
}

/** Sends `signal` to the child (by pid) and waits for it to exit; SIGKILL after 15 s. */
export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals) {
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

const PsIdsSchema = z.array(z.looseObject({ id: z.string() }));

export interface AgentServerStackOptions {
  /** The environment the server, agent and CLI inherit (the test passes process.env: lint). */
  env: NodeJS.ProcessEnv;
  /** The test's temp dir (from tempStateDir; "" when skipped): server/, agent/ and cli/ go in it. */
  tmp: string;
  /** The agent's test-only network prefix (never a real agent's berth0). */
  netPrefix: string;
  /** The admin password the server is bootstrapped with. */
  password: string;
  /** How often waitFor polls (the probes spawn the CLI or call the server). */
  pollMs: number;
  /** Extra arguments of the agent (e.g. `--usage-interval 1`). */
  agentArgs?: string[];
}

export class AgentServerStack {
  readonly dataDir: string;
  readonly agentDir: string;
  readonly cliEnv: NodeJS.ProcessEnv;
  server: ChildProcess | undefined;
  agent: ChildProcess | undefined;
  port = 0;
  base = "";

  constructor(private readonly opts: AgentServerStackOptions) {
    this.dataDir = join(opts.tmp, "server");
    this.agentDir = join(opts.tmp, "agent");
    this.cliEnv = { ...opts.env, BERTH_CONFIG_DIR: join(opts.tmp, "cli") };
  }

  /** Polls every `pollMs` until `fn` returns a value other than undefined; throws after `ms`. */
  waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 30_000) {
    return poll(what, fn, ms, this.opts.pollMs);
  }

  /** Runs `berth <args>`; its stdout, or a throw with its stderr. */
  cli(...args: string[]): string {
    const r = spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: REPO,
      env: this.cliEnv,
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`berth ${args.join(" ")} (${r.status}): ${r.stderr}`);
    return r.stdout;
  }

  /** `berth login` as admin with the password on stdin (the caller asserts its status). */
  login() {
    return spawnSync(
      process.execPath,
      ["--import", "tsx", CLI, "login", "--server", this.base, "-u", "admin", "--password-stdin"],
      { cwd: REPO, env: this.cliEnv, input: `${this.opts.password}\n`, encoding: "utf8" },
    );
  }

  async health(): Promise<{ agentsConnected: number } | undefined> {
    const res = await fetch(`${this.base}/api/health`).catch(() => undefined);
    if (!res?.ok) return undefined;
    return (await res.json()) as { agentsConnected: number };
  }

  agentConnected() {
    return this.waitFor(
      "the agent to connect",
      async () => ((await this.health())?.agentsConnected ?? 0) > 0 || undefined,
      60_000,
    );
  }

  /** Starts berth-server on `port` (a free one the first time) and waits for its health. */
  async startServer() {
    if (this.port === 0) {
      this.port = await freePort();
      this.base = `http://127.0.0.1:${this.port}`;
    }
    this.server = startProcess(["--import", "tsx", "apps/web/server.ts"], REPO, {
      ...this.opts.env,
      NODE_ENV: "production",
      BERTH_PORT: String(this.port),
      BERTH_HOST: "127.0.0.1",
      BERTH_DATA_DIR: this.dataDir,
      BERTH_BOOTSTRAP_JOIN_TOKEN: "1",
      BERTH_ADMIN_PASSWORD: this.opts.password,
    });
    return this.waitFor("berth-server", () => this.health(), 120_000);
  }

  /** The bootstrap join token the server wrote to its data dir. */
  joinToken() {
    const tokenFile = join(this.dataDir, "bootstrap-join-token");
    return this.waitFor("the join token", () =>
      existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : undefined,
    );
  }

  /** Starts the agent (joining with `joinToken` the first time) and waits for it to connect. */
  startAgent(joinToken?: string) {
    this.agent = startProcess(
      [
        "--import",
        "tsx",
        "src/main.ts",
        "--server",
        this.base,
        "--state-dir",
        this.agentDir,
        ...(this.opts.agentArgs ?? []),
        ...(joinToken ? ["--join-token", joinToken] : []),
      ],
      AGENT_DIR,
      // A test-only network prefix: never a real agent's berth0 (removed by teardown).
      { ...this.opts.env, BERTH_NETWORK_PREFIX: this.opts.netPrefix },
    );
    return this.agentConnected();
  }

  /**
   * Removes every container (through the product first: one `berth rm -f` for all; whatever the
   * agent could not remove on the host), stops both processes, removes the agent's networks and
   * the temp dir.
   */
  async teardown(): Promise<void> {
    const { agent } = this;
    try {
      if (agent && agent.exitCode === null && agent.signalCode === null) {
        let ids: string[] = [];
        try {
          ids = PsIdsSchema.parse(JSON.parse(this.cli("ps", "-a", "--json"))).map((c) => c.id);
        } catch (e) {
          console.error(`cleanup: berth ps failed: ${(e as Error).message}`);
        }
        if (ids.length > 0)
          spawnSync(process.execPath, ["--import", "tsx", CLI, "rm", "-f", ...ids], {
            cwd: REPO,
            env: this.cliEnv,
            timeout: 120_000,
          });
      }
      await stopProcess(this.agent, "SIGTERM");
      await stopProcess(this.server, "SIGTERM");
      // Whatever the agent could not remove (e.g. it never came back): remove it on the host.
      if (existsSync(join(this.agentDir, "containers"))) {
        const svc = await ContainerService.create({
          stateDir: this.agentDir,
          network: { prefix: this.opts.netPrefix },
        });
        for (const c of svc.list())
          await svc
            .remove(
              CommandSchemas["container.remove"].params.parse({ containerId: c.id, force: true }),
            )
            .catch((e: unknown) => console.error(`cleanup of ${c.id}: ${(e as Error).message}`));
        await svc.close();
      }
      await cleanupAll(this.opts.netPrefix, this.agentDir);
    } finally {
      rmSync(this.opts.tmp, { recursive: true, force: true });
    }
  }
}
