/** Shared helpers for benchmarks: a private Berth stack, timing and statistics. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Wall time of one command in milliseconds; throws if it fails. */
export function timeCommand(argv: string[], env?: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), {
    env: env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    throw new Error(
      `${argv.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr.toString().slice(0, 2000)}`,
    );
  }
  return ms;
}

/** Network prefix of the bench's agents (bridges bnbench0…, chains BNBENCH-…). */
export const BENCH_NET_PREFIX = "bnbench";

export interface Stack {
  base: string;
  agentDir: string;
  cliEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Starts berth-server + a local agent in temp dirs (scripts/launch.ts) and logs the CLI in. */
export async function startStack(port: number): Promise<Stack> {
  const tmp = mkdtempSync(join(tmpdir(), "berth-bench-"));
  const env = {
    ...process.env,
    BERTH_PORT: String(port),
    BERTH_DATA_DIR: join(tmp, "server"),
    BERTH_AGENT_STATE_DIR: join(tmp, "agent"),
    BERTH_ADMIN_PASSWORD: "bench-password",
    // A bench-only network prefix: never a real agent's berth0; removed in stop().
    BERTH_NETWORK_PREFIX: BENCH_NET_PREFIX,
  };
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "scripts/launch.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  await new Promise<void>((res, rej) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Berth is running")) res();
    });
    child.once("exit", (c) => rej(new Error(`launch exited with ${c}: ${out.slice(-2000)}`)));
  });
  const cliEnv = { ...process.env, BERTH_CONFIG_DIR: join(tmp, "cli"), BERTH_SERVER: base };
  const login = spawnSync(
    process.execPath,
    [
      join(root, "apps/cli/bin/berth.mjs"),
      "login",
      "--server",
      base,
      "-u",
      "admin",
      "--password-stdin",
    ],
    { input: "bench-password\n", env: cliEnv },
  );
  if (login.status !== 0) throw new Error(`berth login failed: ${login.stderr.toString()}`);
  return {
    base,
    agentDir: join(tmp, "agent"),
    cliEnv,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      spawnSync(process.execPath, [
        join(root, "apps/node-agent/bin/berth-agent.mjs"),
        "--cleanup-network",
        "--network-prefix",
        BENCH_NET_PREFIX,
        "--state-dir",
        join(tmp, "agent"),
      ]);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export function table(rows: (string | number)[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(w[i]!)).join("  ")).join("\n");
}
