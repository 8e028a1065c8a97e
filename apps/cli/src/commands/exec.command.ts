/**
 * `berth exec [-i] [-t] [-u USER] [-w DIR] [-e K=V]... [-d] CONTAINER CMD [ARG...]`: docker's exec.
 * Streams the command's stdout/stderr and exits with its exit code; 127 when the command is not
 * found, 126 when it cannot be executed; `-d` starts it in the background and returns at once.
 * `-i` forwards stdin (EOF at its end); `-t` gives the process a terminal of this terminal's size
 * (resized on SIGWINCH) and, when stdin is a terminal, puts it in raw mode so every key, Ctrl-C
 * included, goes to the process. `-it` with a stdin that is not a terminal is refused as docker
 * does ("the input device is not a TTY"). Ctrl-C (outside raw mode) cancels the stream, which
 * kills the process in the container, and exits 130.
 */
import { spawnSync } from "node:child_process";
import { ContainerExecInputSchema, type ContainerExecInput, type TerminalSize } from "@berth/core";
import { type Command } from "commander";
import type { BerthApi } from "../api/berth-api";
import { withApi, type CliContext, type OutputStream } from "../context";
import { CliError, UsageError, zodIssueLines } from "../errors";
import { enterRawMode, InputPump, type RawModeInput, type SignalHost } from "./exec-input";
import { type GlobalFlags } from "./global-flags";

export interface ExecFlags {
  user?: string;
  workdir?: string;
  env?: string[];
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Declares exec's options and arguments (shared by the program and the tests). */
export function defineExecCommand(cmd: Command): Command {
  return cmd
    .description("Execute a command in a running container")
    .usage("[OPTIONS] CONTAINER COMMAND [ARG...]")
    .argument("<container>", "container id, id prefix or name")
    .argument("<command...>", "command and arguments to run in the container")
    .option("-u, --user <user>", "username or UID (format: <name|uid>[:<group|gid>])")
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-e, --env <KEY=VALUE>", "set an environment variable (repeatable)", collect)
    .option("-d, --detach", "run the command in the background")
    .option("-i, --interactive", "keep STDIN open even if not attached")
    .option("-t, --tty", "allocate a pseudo-TTY")
    .passThroughOptions();
}

/**
 * Builds and validates the API input; `-e KEY` copies KEY from the CLI's environment (docker).
 * `size` is the local terminal's, sent with -t.
 */
export function toExecInput(
  ref: string,
  argv: string[],
  flags: ExecFlags,
  lookupEnv: (name: string) => string | undefined = () => undefined,
  size?: TerminalSize,
): ContainerExecInput {
  if (flags.detach && (flags.interactive || flags.tty))
    throw new UsageError("-d cannot be combined with -i or -t");
  const env: string[] = [];
  for (const e of flags.env ?? []) {
    if (e.indexOf("=") > 0) env.push(e);
    else if (e.length > 0 && !e.includes("=")) {
      const v = lookupEnv(e);
      if (v !== undefined) env.push(`${e}=${v}`);
    } else
      throw new UsageError(
        `invalid argument ${JSON.stringify(e)} for "-e, --env" flag: expected KEY=VALUE`,
      );
  }
  const input = {
    ref,
    argv,
    env,
    detach: flags.detach === true,
    ...(flags.user === undefined ? {} : { user: flags.user }),
    ...(flags.workdir === undefined ? {} : { workingDir: flags.workdir }),
    ...(flags.tty ? { tty: true } : {}),
    ...(flags.interactive ? { interactive: true } : {}),
    ...(flags.tty && size ? { size } : {}),
  };
  const checked = ContainerExecInputSchema.safeParse(input);
  if (!checked.success)
    throw new CliError("invalid exec options", {
      exitCode: 2,
      details: zodIssueLines(checked.error),
    });
  return input;
}

/** docker's exit codes for a command that could not be started. */
export function execFailureExitCode(message: string): number | undefined {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|not executable/i.test(message)) return 126;
  return undefined;
}

/**
 * Node's raw mode (libuv) keeps output processing on (ONLCR), so the remote pty's "\r\n" would
 * reach the screen as "\r\r\n"; docker's raw mode turns it off. `stty -opost` on our own
 * terminal does the same; leaving raw mode (setRawMode(false)) restores the saved settings.
 */
function noOutputProcessing(): void {
  spawnSync("stty", ["-opost"], { stdio: ["inherit", "ignore", "ignore"], timeout: 2000 });
}

/** A terminal's size from a stream that is one (columns/rows of a tty.WriteStream). */
interface TerminalOutput extends OutputStream {
  columns?: number;
  rows?: number;
  on?(event: "resize", listener: () => void): unknown;
  off?(event: "resize", listener: () => void): unknown;
}

export function terminalSize(out: OutputStream): TerminalSize | undefined {
  const t = out as TerminalOutput;
  if (!t.isTTY || !t.columns || !t.rows) return undefined;
  return { cols: Math.min(1000, t.columns), rows: Math.min(1000, t.rows) };
}

export function registerExecCommand(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
  setExitCode: (code: number) => void,
  signalHost: SignalHost = process,
): void {
  defineExecCommand(program.command("exec")).action(
    async (ref: string, argv: string[], flags: ExecFlags) => {
      if (flags.interactive && flags.tty && !ctx.stdin.isTTY)
        throw new CliError("the input device is not a TTY", {
          hint: "drop -t to pipe input into the command: `echo hi | berth exec -i CONTAINER cat`",
        });
      const input = toExecInput(
        ref,
        argv,
        flags,
        (n) => ctx.lookupEnv(n),
        terminalSize(ctx.stdout),
      );
      const ac = new AbortController();
      const stopInterrupt = ctx.onInterrupt?.(() => ac.abort());
      let exitCode: number | undefined;
      let inputError: unknown;
      let session: InteractiveSession | undefined;
      // Raw mode only for -t on a terminal: keys go to the remote pty, which echoes them.
      const restoreTerminal =
        flags.tty && flags.interactive
          ? enterRawMode(
              ctx.stdin as RawModeInput,
              signalHost,
              ctx.stdin === process.stdin ? noOutputProcessing : undefined,
            )
          : () => undefined;
      try {
        await withApi(ctx, globals(), {}, (api) =>
          api.streamExec(
            input,
            (chunk) => {
              if (chunk.sessionId !== undefined && !session) {
                session = startInteractive(api, chunk.sessionId, ctx, flags, (e) => {
                  // The session ended while input was on its way: the exit code follows.
                  if ((e as { data?: { code?: unknown } }).data?.code === "NOT_FOUND") return;
                  inputError = e;
                  ac.abort();
                });
              }
              if (chunk.stdout) ctx.stdout.write(chunk.stdout);
              if (chunk.stderr) ctx.stderr.write(chunk.stderr);
              if (chunk.exitCode !== undefined) exitCode = chunk.exitCode;
            },
            ac.signal,
          ),
        );
      } catch (e) {
        const code = e instanceof CliError ? execFailureExitCode(e.message) : undefined;
        throw code !== undefined && e instanceof CliError ? e.withExitCode(code) : e;
      } finally {
        session?.stop();
        restoreTerminal();
        stopInterrupt?.();
      }
      if (inputError !== undefined)
        throw new CliError(
          `cannot send input: ${inputError instanceof Error ? inputError.message : String(inputError)}`,
        );
      if (ac.signal.aborted) return setExitCode(130);
      if (input.detach) return setExitCode(0);
      if (exitCode === undefined)
        throw new CliError("the exec stream ended without an exit code (connection lost?)");
      setExitCode(exitCode);
    },
  );
}

interface InteractiveSession {
  stop(): void;
}

/**
 * Once the session id arrived: with -i, streams stdin into the session (EOF at its end); with
 * -t, sends this terminal's new size on every resize (SIGWINCH).
 */
function startInteractive(
  api: BerthApi,
  sessionId: string,
  ctx: CliContext,
  flags: ExecFlags,
  onError: (e: unknown) => void,
): InteractiveSession {
  const pump = new InputPump((m) => api.execInput({ sessionId, ...m }), onError);
  let stopped = false;
  if (flags.interactive) {
    void (async () => {
      try {
        for await (const chunk of ctx.stdin) {
          if (stopped) return;
          pump.data(chunk);
        }
        if (!stopped) pump.eof();
      } catch (e) {
        if (!stopped) onError(e);
      }
    })();
  }
  const out = ctx.stdout as TerminalOutput;
  const onResize = () => {
    const size = terminalSize(out);
    if (size) pump.resize(size);
  };
  if (flags.tty) out.on?.("resize", onResize);
  return {
    stop() {
      stopped = true;
      pump.stop();
      if (flags.tty) out.off?.("resize", onResize);
    },
  };
}
