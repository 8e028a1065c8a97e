/**
 * Starts a local Berth: berth-server, then a berth-agent joined to it with the one-time token
 * the server writes at start. Stops both (by pid) on SIGINT/SIGTERM, or when either dies.
 * Used by `npm run up`, the browser tests and the benchmarks.
 *
 * Env: BERTH_PORT (8080), BERTH_HOST (127.0.0.1), BERTH_DATA_DIR, BERTH_AGENT_STATE_DIR,
 * BERTH_ADMIN_USER, BERTH_ADMIN_PASSWORD, BERTH_DEV=1 (Next dev mode instead of the build).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.BERTH_PORT ?? 8080);
const host = process.env.BERTH_HOST ?? "127.0.0.1";
const dataDir = resolve(process.env.BERTH_DATA_DIR ?? join(root, ".berth/server"));
const agentDir = resolve(process.env.BERTH_AGENT_STATE_DIR ?? join(root, ".berth/agent"));
const dev = process.env.BERTH_DEV === "1";
const base = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

if (process.getuid?.() !== 0) {
  console.error("launch: berth-agent needs root (namespaces, cgroups, mounts): run as root");
  process.exit(1);
}
if (!dev && !existsSync(join(root, "apps/web/.next/BUILD_ID"))) {
  console.error(
    "launch: the dashboard is not built: run `npx turbo run build` (npm run up does it)",
  );
  process.exit(1);
}

mkdirSync(dataDir, { recursive: true });
mkdirSync(agentDir, { recursive: true });
const tokenFile = join(dataDir, "bootstrap-join-token");
rmSync(tokenFile, { force: true });

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Own process group: a signal sent to launch's group (Ctrl-C in a terminal, Playwright's
  // teardown) reaches only launch, which then stops the children in order, once.
  const child = spawn(process.execPath, argv, {
    cwd: root,
    env,
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  children.push(child);
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(
      `launch: ${name} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}); stopping the rest`,
    );
    void stop(1);
  });
  return child;
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // The agent first, so it does not spin reconnecting to a closing server.
  for (const child of [...children].reverse()) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      child.kill("SIGTERM");
      await new Promise<void>((res) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          res();
        }, 10_000);
        child.once("exit", () => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) throw new Error("stopping");
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function health(): Promise<{ agentsConnected: number } | undefined> {
  const res = await fetch(`${base}/api/health`);
  if (!res.ok) return undefined;
  return (await res.json()) as { agentsConnected: number };
}

async function main(): Promise<void> {
  const serverArgs = ["--import", "tsx", "apps/web/server.ts", ...(dev ? ["--dev"] : [])];
  start("berth-server", serverArgs, {
    ...process.env,
    NODE_ENV: dev ? "development" : "production",
    BERTH_PORT: String(port),
    BERTH_HOST: host,
    BERTH_DATA_DIR: dataDir,
    BERTH_BOOTSTRAP_JOIN_TOKEN: "1",
  });
  await waitFor("berth-server", 120_000, health);
  const token = await waitFor("the bootstrap join token", 10_000, async () =>
    existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : undefined,
  );
  start(
    "berth-agent",
    [
      "apps/node-agent/bin/berth-agent.mjs",
      "--server",
      base,
      "--join-token",
      token,
      "--state-dir",
      agentDir,
    ],
    { ...process.env },
  );
  await waitFor("the local agent to connect", 60_000, async () => {
    const h = await health();
    return h && h.agentsConnected > 0 ? h : undefined;
  });
  const user = process.env.BERTH_ADMIN_USER ?? "admin";
  const pw = process.env.BERTH_ADMIN_PASSWORD
    ? "(the password in BERTH_ADMIN_PASSWORD)"
    : "(printed above by berth-server on its first start)";
  console.log(
    [
      "",
      "  Berth is running",
      `    dashboard:  ${base}/`,
      `    login:      ${user} ${pw}`,
      `    CLI:        npx berth login --server ${base} -u ${user} --password-stdin`,
      `    data:       ${dataDir}   agent state: ${agentDir}`,
      "  Ctrl-C stops the server and the agent (containers keep running).",
      "",
    ].join("\n"),
  );
}

main().catch((e: unknown) => {
  if (stopping) return;
  console.error(`launch: ${(e as Error).message}`);
  void stop(1);
});
