/**
 * `berth exec [-u USER] [-w DIR] [-e K=V]... [-d] CONTAINER CMD [ARG...]`: docker's exec without a
 * tty. Streams the command's stdout/stderr and exits with its exit code; 127 when the command is
 * not found, 126 when it cannot be executed; `-d` starts it in the background and returns at once.
 * `-i`/`-t` are refused (exit 2) until interactive exec lands with the browser terminal. Ctrl-C
 * cancels the stream, which kills the process in the container, and exits 130.
 */
import { ContainerExecInputSchema, type ContainerExecInput } from "@berth/core";
import { type Command } from "commander";
import { withApi, type CliContext } from "../context";
import { CliError, UsageError, zodIssueLines } from "../errors";
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
    .option("-i, --interactive", "keep STDIN open (not supported yet)")
    .option("-t, --tty", "allocate a pseudo-TTY (not supported yet)")
    .passThroughOptions();
}

/** Builds and validates the API input; `-e KEY` copies KEY from the CLI's environment (docker). */
export function toExecInput(
  ref: string,
  argv: string[],
  flags: ExecFlags,
  lookupEnv: (name: string) => string | undefined = () => undefined,
): ContainerExecInput {
  if (flags.interactive || flags.tty)
    throw new UsageError(
      "not supported yet: interactive exec (-it) lands with the browser terminal",
      "run a non-interactive command, e.g. `berth exec web ls /`",
    );
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

export function registerExecCommand(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
  setExitCode: (code: number) => void,
): void {
  defineExecCommand(program.command("exec")).action(
    async (ref: string, argv: string[], flags: ExecFlags) => {
      const input = toExecInput(ref, argv, flags, (n) => ctx.lookupEnv(n));
      const ac = new AbortController();
      const stopInterrupt = ctx.onInterrupt?.(() => ac.abort());
      let exitCode: number | undefined;
      try {
        await withApi(ctx, globals(), {}, (api) =>
          api.streamExec(
            input,
            (chunk) => {
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
        stopInterrupt?.();
      }
      if (ac.signal.aborted) return setExitCode(130);
      if (input.detach) return setExitCode(0);
      if (exitCode === undefined)
        throw new CliError("the exec stream ended without an exit code (connection lost?)");
      setExitCode(exitCode);
    },
  );
}
