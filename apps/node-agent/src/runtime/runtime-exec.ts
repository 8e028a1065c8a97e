/**
 * `<runtime> exec`: runs one more process in a running container, without a tty, capturing its
 * stdout, stderr and exit code (healthchecks). runc and crun share the CLI. The process takes
 * the container's own process settings (env, cwd, user, capabilities) from its spec; on timeout
 * the exec'd process itself (its pid from `--pid-file`) is SIGKILLed, then the runtime returns.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DomainError } from "@berth/core";

export interface ExecOptions {
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr, each (default 64 KiB). */
  maxOutput?: number;
}

export interface ExecResult {
  /** The process's exit code; null when it timed out or was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

interface RuntimeCli {
  readonly path: string;
  readonly globalArgs: readonly string[];
}

export async function runtimeExec(
  rt: RuntimeCli,
  id: string,
  args: readonly string[],
  opts: ExecOptions,
): Promise<ExecResult> {
  if (args.length === 0) throw new DomainError("invalid_input", "exec needs a command");
  const max = opts.maxOutput ?? 64 * 1024;
  const dir = await mkdtemp(join(tmpdir(), "berth-exec-"));
  const pidFile = join(dir, "pid");
  const argv = [rt.path, ...rt.globalArgs, "exec", "--pid-file", pidFile, id, ...args];
  try {
    return await new Promise<ExecResult>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outLen = 0;
      let errLen = 0;
      child.stdout.on("data", (b: Buffer) => {
        if (outLen < max) out.push(b);
        outLen += b.length;
      });
      child.stderr.on("data", (b: Buffer) => {
        if (errLen < max) err.push(b);
        errLen += b.length;
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        void killExeced(pidFile, child.pid);
      }, opts.timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(
          new DomainError("runtime", `cannot run ${rt.path} exec: ${e.message}`, {
            command: argv,
          }),
        );
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({
          exitCode: timedOut ? null : code,
          signal,
          timedOut,
          stdout: Buffer.concat(out).toString("utf8").slice(0, max),
          stderr: Buffer.concat(err).toString("utf8").slice(0, max),
        });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** SIGKILLs the process we exec'd (by the pid runc wrote), else the runtime process we spawned. */
async function killExeced(pidFile: string, runtimePid: number | undefined): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  for (const p of [Number.isInteger(pid) && pid > 0 ? pid : undefined, runtimePid]) {
    if (!p) continue;
    try {
      process.kill(p, "SIGKILL");
      return;
    } catch {
      /* already gone: try the next */
    }
  }
}
