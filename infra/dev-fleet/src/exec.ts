/** Runs a program with an argv array (never a shell string); failures keep argv, code and output. */
import { spawn } from "node:child_process";

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`\`${argv.join(" ")}\` failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
    this.name = "CommandError";
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  argv: readonly string[],
  opts: {
    input?: string;
    allowFailure?: boolean;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("run: empty argv");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0 && !opts.allowFailure) reject(new CommandError(argv, code, stdout, stderr));
      else resolve({ code, stdout, stderr });
    });
    // A program that exits without reading its stdin must not crash the caller (EPIPE).
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}
