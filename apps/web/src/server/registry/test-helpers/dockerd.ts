/**
 * A private Docker engine for tests: `/usr/sbin/dockerd` started by the test itself on its own
 * unix socket, data root, exec root and pidfile under a temp dir, with no bridge, no iptables,
 * no masquerading and its own managed containerd (no system containerd is used or needed).
 * The CLI is Debian's `/usr/bin/docker` (20.10, matching the engine), with a private
 * DOCKER_CONFIG, so a `docker login` never touches ~/.docker.
 *
 * dockerd 20.10 writes its trust key to /etc/docker/key.json and makes /run/docker whatever its
 * roots: `stop()` removes those when they were absent before `start()`.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Debian docker.io's own paths, never a PATH lookup: the `docker` first on PATH here may be a
// different CLI (28, with no engine), and the test must drive the engine it starts itself.
export const DOCKERD = "/usr/sbin/dockerd";
export const DOCKER_CLI = "/usr/bin/docker";
const HOST_PATHS = ["/etc/docker/key.json", "/run/docker"];

/** Why the engine cannot run here, or null when it can (root and Debian's docker.io). */
export function dockerUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "dockerd needs root";
  if (!existsSync(DOCKERD))
    return `${DOCKERD} is missing (scripts/setup.sh --test installs docker.io)`;
  if (!existsSync(DOCKER_CLI)) return `${DOCKER_CLI} is missing (docker.io)`;
  return null;
}

export interface DockerResult {
  status: number | null;
  out: string;
  err: string;
}

export interface Dockerd {
  dir: string;
  socket: string;
  /** Runs `/usr/bin/docker -H unix://<socket> …` without blocking the event loop. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<DockerResult>;
  stop(): Promise<void>;
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (mp && (mp === dir || mp.startsWith(`${dir}/`))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
  timeoutMs = 120_000,
) {
  return new Promise<DockerResult>((resolve) => {
    const child = execFile(
      cmd,
      args,
      { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
      (e, out, err) =>
        resolve({ status: e ? (typeof e.code === "number" ? e.code : -1) : 0, out, err }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function startDockerd(): Promise<Dockerd> {
  const absent = HOST_PATHS.filter((p) => !existsSync(p));
  const dir = mkdtempSync(join(tmpdir(), "berth-dockerd-"));
  const socket = join(dir, "docker.sock");
  const pidfile = join(dir, "dockerd.pid");
  const config = join(dir, "daemon.json");
  const dockerConfig = join(dir, "cli");
  mkdirSync(dockerConfig);
  // Its own (empty) config file: /etc/docker/daemon.json, if any, is not read.
  writeFileSync(config, "{}\n");
  const log = join(dir, "dockerd.log");
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig, DOCKER_HOST: `unix://${socket}` };
  const child: ChildProcess = spawn(
    DOCKERD,
    [
      "--config-file",
      config,
      "-H",
      `unix://${socket}`,
      "--data-root",
      join(dir, "data"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      pidfile,
      "--bridge=none",
      "--iptables=false",
      "--ip6tables=false",
      "--ip-forward=false",
      "--ip-masq=false",
      "--userland-proxy=false",
      "--exec-opt",
      "native.cgroupdriver=cgroupfs",
      "--storage-driver",
      "overlay2",
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DOCKER_CONFIG: dockerConfig } },
  );
  let logText = "";
  const onLog = (b: Buffer) => {
    logText += b.toString("utf8");
    if (logText.length > 64 * 1024) logText = logText.slice(-32 * 1024);
  };
  child.stdout?.on("data", onLog);
  child.stderr?.on("data", onLog);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));

  const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
    run(DOCKER_CLI, ["-H", `unix://${socket}`, ...args], env, opts.input, opts.timeoutMs);

  async function stop() {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      process.kill(child.pid, "SIGTERM");
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000));
      if ((await Promise.race([exited, timer])) === "timeout") {
        process.kill(child.pid, "SIGKILL");
        await exited;
      }
    }
    writeFileSync(log, logText);
    for (const mp of mountsUnder(dir))
      await run("/usr/bin/umount", ["-l", mp], process.env).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    for (const p of absent) rmSync(p, { recursive: true, force: true });
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = logText.slice(-2000);
      await stop();
      throw new Error(`dockerd exited at start:\n${tail}`);
    }
    const v = await run(
      DOCKER_CLI,
      ["-H", `unix://${socket}`, "version", "-f", "{{.Server.Version}}"],
      env,
      undefined,
      5_000,
    );
    if (v.status === 0) break;
    if (Date.now() > deadline) {
      const tail = logText.slice(-2000);
      await stop();
      throw new Error(`dockerd did not answer on ${socket} within 30 s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { dir, socket, docker, stop };
}
