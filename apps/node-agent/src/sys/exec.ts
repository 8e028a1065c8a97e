/**
 * Subprocesses, always with an argv array (never a shell string). A failure keeps the command,
 * exit code (or signal), stdout and stderr so that the edge can show what really happened.
 */
import { spawn } from "node:child_process";

export interface RunOptions {
  /** Written to the child's stdin, then closed. */
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Resolve with a non-zero code instead of throwing ExecError. */
  allowFailure?: boolean;
  /** Largest stdout/stderr kept, each, in bytes (default 16 MiB). */
  maxBuffer?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class ExecError extends Error {
  readonly command: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    command: readonly string[],
    code: number | null,
    signal: NodeJS.Signals | null,
    stdout: string,
    stderr: string,
    cause?: unknown,
  ) {
    const how =
      code !== null ? `exit code ${code}` : signal ? `signal ${signal}` : "failed to start";
    const detail = stderr.trim() || (cause instanceof Error ? cause.message : "") || stdout.trim();
    super(`${command.join(" ")}: ${how}${detail ? `: ${detail.slice(0, 4096)}` : ""}`, { cause });
    this.name = "ExecError";
    this.command = command;
    this.code = code;
    this.signal = signal;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** Runs argv[0] with argv[1..]; resolves on exit code 0 (or always with allowFailure). */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0 || !argv[0]) throw new TypeError("run: empty argv");
  const max = opts.maxBuffer ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      signal: opts.signal,
      timeout: opts.timeoutMs,
      killSignal: "SIGKILL",
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout!.on("data", (b: Buffer) => {
      if (outLen < max) out.push(b);
      outLen += b.length;
    });
    child.stderr!.on("data", (b: Buffer) => {
      if (errLen < max) err.push(b);
      errLen += b.length;
    });
    let spawnError: unknown;
    child.on("error", (e) => {
      spawnError = e;
    });
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => {
        /* the child may exit before reading its input; its exit code tells */
      });
      child.stdin!.end(opts.input);
    }
    child.on("close", (code, signal) => {
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (spawnError !== undefined && (code === null || code < 0)) {
        reject(new ExecError(argv, null, null, stdout, stderr, spawnError));
        return;
      }
      if (code === 0 || (opts.allowFailure && code !== null)) {
        resolve({ stdout, stderr, code: code! });
        return;
      }
      reject(new ExecError(argv, code, signal, stdout, stderr, spawnError));
    });
  });
}
