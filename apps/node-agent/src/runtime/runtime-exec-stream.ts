/**
 * `<runtime> exec --process <file>` streaming its output: runs one more process in a running
 * container without a tty, hands each stdout/stderr chunk to `onChunk` as UTF-8 text (invalid
 * bytes become U+FFFD; a multi-byte character split across reads is kept whole), and resolves with
 * the exit code. With `input` (`exec -i`) the process's stdin is a pipe fed from it (EOF closes
 * it; runc copies the pipe to the process and closes the process's stdin at EOF); without, it is
 * /dev/null. When `signal` aborts, the exec'd process (its pid from `--pid-file`) is SIGKILLed,
 * then the runtime process, and the promise resolves once the runtime has returned.
 * The tty variant is runtime-exec-tty.ts.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { DomainError, type StreamInputSource } from "@berth/core";

export interface ExecChunk {
  stdout?: string;
  stderr?: string;
}

export interface StreamExecResult {
  /** The process's exit code (128+n when killed by signal n, like a shell); null if cancelled. */
  exitCode: number | null;
  cancelled: boolean;
}

export interface RuntimeCli {
  readonly path: string;
  readonly globalArgs: readonly string[];
}

/**
 * Runs `proc` (an OCI runtime-spec `process` object: args, env, cwd, user, capabilities…) in
 * container `id`. The caller builds it from the container's own config.json.
 */
export async function runtimeExecStream(
  rt: RuntimeCli,
  id: string,
  proc: Record<string, unknown>,
  signal: AbortSignal,
  onChunk: (c: ExecChunk) => void | Promise<void>,
  opts: { detach?: boolean; input?: StreamInputSource } = {},
): Promise<StreamExecResult> {
  const dir = await mkdtemp(join(tmpdir(), "berth-exec-"));
  const pidFile = join(dir, "pid");
  const procFile = join(dir, "process.json");
  const argv = [
    rt.path,
    ...rt.globalArgs,
    "exec",
    "--process",
    procFile,
    "--pid-file",
    pidFile,
    ...(opts.detach ? ["--detach"] : []),
    id,
  ];
  try {
    await writeFile(procFile, JSON.stringify(proc), { mode: 0o600 });
    if (signal.aborted) return { exitCode: null, cancelled: true };
    return await new Promise<StreamExecResult>((resolve, reject) => {
      // Detached, the process inherits runc's stdio: give it none, so nothing of ours stays open.
      const child = spawn(argv[0]!, argv.slice(1), {
        stdio: opts.detach ? "ignore" : [opts.input ? "pipe" : "ignore", "pipe", "pipe"],
      });
      let detachInput: (() => void) | undefined;
      const stdin = child.stdin;
      if (opts.input && stdin) {
        // EPIPE when the process exits without reading all of it: not an error of the exec.
        stdin.on("error", () => undefined);
        detachInput = opts.input.attach((ev) => {
          if (stdin.destroyed || stdin.writableEnded) return;
          if (ev.data && ev.data.byteLength > 0) stdin.write(ev.data);
          if (ev.eof) stdin.end();
        });
      }
      const outDec = new StringDecoder("utf8");
      const errDec = new StringDecoder("utf8");
      const emit = (c: ExecChunk) => {
        if (signal.aborted) return;
        void Promise.resolve(onChunk(c)).catch(() => undefined);
      };
      child.stdout?.on("data", (b: Buffer) => {
        const s = outDec.write(b);
        if (s) emit({ stdout: s });
      });
      child.stderr?.on("data", (b: Buffer) => {
        const s = errDec.write(b);
        if (s) emit({ stderr: s });
      });
      let cancelled = false;
      const onAbort = () => {
        cancelled = true;
        void killExeced(pidFile, child.pid, () => child.exitCode === null && !child.signalCode);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      child.on("error", (e) => {
        signal.removeEventListener("abort", onAbort);
        detachInput?.();
        reject(
          new DomainError("runtime", `cannot run ${rt.path} exec: ${e.message}`, {
            command: argv,
          }),
        );
      });
      child.on("close", (code, sig) => {
        signal.removeEventListener("abort", onAbort);
        detachInput?.();
        const restOut = outDec.end();
        const restErr = errDec.end();
        if (restOut) emit({ stdout: restOut });
        if (restErr) emit({ stderr: restErr });
        if (cancelled) return resolve({ exitCode: null, cancelled: true });
        if (opts.detach && code === 0) return resolve({ exitCode: null, cancelled: false });
        if (opts.detach)
          return reject(
            new DomainError("runtime", `${rt.path} exec --detach failed (exit code ${code})`, {
              command: argv,
              exitCode: code,
            }),
          );
        const exitCode = code ?? (sig ? 128 + (SIGNAL_NUMBERS[sig] ?? 0) : 255);
        resolve({ exitCode, cancelled: false });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

/**
 * SIGKILLs the process we exec'd (pid written by the runtime), then the runtime process. When the
 * cancel comes before the runtime wrote the pid file, waits for it (up to 5 s) while the runtime
 * runs: killing only the runtime then could leave the process running in the container.
 */
export async function killExeced(
  pidFile: string,
  runtimePid: number | undefined,
  runtimeAlive: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 5000;
  let pid: number | undefined;
  for (;;) {
    const n = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
    if (Number.isInteger(n) && n > 0) pid = n;
    if (pid !== undefined || !runtimeAlive() || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const p of [pid, runtimePid]) {
    if (!p) continue;
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
