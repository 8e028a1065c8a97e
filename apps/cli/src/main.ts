/** Entry point of the `berth` binary: wires the real process into runCli and exits with its code. */
import { createInterface } from "node:readline";
import pkg from "../package.json" with { type: "json" };
import { lookupEnv, readEnv } from "./config";
import { type CliContext } from "./context";
import { CliError, formatCliError } from "./errors";
import { runCli } from "./program";

function promptLine(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) =>
    rl.question(prompt, (answer) => {
      rl.close();
      resolve(answer);
    }),
  );
}

/** Reads a line from the terminal in raw mode without echoing it. */
function promptSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done();
        if (ch === "\u0003") return done(new CliError("interrupted", { exitCode: 130 }));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

async function main(): Promise<number> {
  let env;
  try {
    env = readEnv();
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`${formatCliError(e)}\n`);
      return e.exitCode;
    }
    throw e;
  }
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env,
    lookupEnv,
    now: () => Date.now(),
    version: pkg.version,
    promptLine,
    promptSecret,
    onInterrupt: (handler) => {
      process.on("SIGINT", handler);
      return () => process.off("SIGINT", handler);
    },
  };
  return runCli(process.argv.slice(2), ctx);
}

/**
 * Resolves once everything written to `stream` has been handed to the OS. Writes to a pipe are
 * asynchronous here (a pipe that is full queues the rest in the process): exiting without this
 * lost all but the first 64 KiB of a big `berth logs | …` (measured: 7 MB written, 65 536 read).
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => stream.write("", () => resolve()));
}

main().then(
  async (code) => {
    // Exit as soon as the output is out, so idle keep-alive sockets or timers never delay the
    // shell.
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(
      `berth: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(1);
  },
);
