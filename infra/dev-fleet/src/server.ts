/**
 * Helpers for fleet tests: a real berth-server (the built one, `apps/web/server.ts` in production
 * mode: `next build` must have run, as scripts/test.sh does before the integration tier) listening
 * on the fleet's server address, and the built `berth` CLI with a config dir of its own.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunResult } from "./exec";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI_BIN = join(repoRoot, "apps/cli/bin/berth.mjs");

export interface TestServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** A free TCP port on `host` (closed again before it is used: a small race, fine for tests). */
export function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? res(a.port) : rej(new Error("no port"))));
    });
  });
}

export async function startServer(o: {
  host: string;
  dataDir: string;
  adminPassword: string;
  timeoutMs?: number;
}): Promise<TestServer> {
  if (!existsSync(join(repoRoot, "apps/web/.next/BUILD_ID")))
    throw new Error("berth-server is not built: npx turbo run build (npm test builds first)");
  const port = await freePort(o.host);
  const url = `http://${o.host}:${port}`;
  const child = spawn(process.execPath, ["--import", "tsx", "apps/web/server.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: "production",
      BERTH_HOST: o.host,
      BERTH_PORT: String(port),
      BERTH_DATA_DIR: o.dataDir,
      BERTH_ADMIN_PASSWORD: o.adminPassword,
      BERTH_PUBLIC_URL: url,
    },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  };
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`berth-server exited: ${stderr}`);
    const ok = await fetch(`${url}/api/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`berth-server did not answer on ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid!, stop };
}

/** Runs the built `berth` CLI with its own config dir; failures throw with the output. */
export function berthCli(configDir: string) {
  return (
    args: readonly string[],
    opts: { input?: string; allowFailure?: boolean } = {},
  ): Promise<RunResult> =>
    run([process.execPath, CLI_BIN, ...args], {
      ...opts,
      env: { ...process.env, BERTH_CONFIG_DIR: configDir, BERTH_SERVER: "", BERTH_TOKEN: "" },
    });
}
