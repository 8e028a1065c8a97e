/**
 * The `berth` program: docker's verbs on commander. `runCli` parses argv, runs one command and
 * answers the exit code; it never calls process.exit, so tests run the whole CLI in-process.
 */
import { Command, CommanderError } from "commander";
import { registerArchiveCommands } from "./commands/archive.command";
import { registerAuditCommands } from "./commands/audit.command";
import { registerTokenCommands } from "./commands/tokens.command";
import { registerBuildCommand } from "./commands/build.command";
import { registerCommitCommand } from "./commands/commit.command";
import { registerAuthCommands } from "./commands/auth.command";
import { registerContainerCommands } from "./commands/containers.command";
import { registerEventsCommand } from "./commands/events.command";
import { registerExecCommand } from "./commands/exec.command";
import { type GlobalFlags } from "./commands/global-flags";
import { registerImageCommands } from "./commands/images.command";
import { registerLifecycleCommands } from "./commands/lifecycle.command";
import { registerNodeCommands } from "./commands/nodes.command";
import { registerTeamCommands } from "./commands/teams.command";
import { registerTransferCommands } from "./commands/transfer.command";
import { registerUsageCommands } from "./commands/usage.command";
import { registerUpdateStatsCommands } from "./commands/update-stats.command";
import { registerVersionCommand } from "./commands/version.command";
import { registerVolumeCommands } from "./commands/volumes.command";
import { registerNetworkCommands } from "./commands/networks.command";
import { type CliContext } from "./context";
import { CliError, EXIT_USAGE, formatCliError } from "./errors";

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, fn);
}

export function buildProgram(ctx: CliContext, setExitCode: (code: number) => void): Command {
  const program = new Command("berth")
    .usage("[OPTIONS] COMMAND")
    .description("Run containers on a Berth fleet")
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, "berth: ")),
    })
    .option(
      "-H, --server <url>",
      "berth-server URL (env BERTH_SERVER; default: the last login, else http://127.0.0.1:8080)",
    )
    .option(
      "--token <token>",
      "API token (env BERTH_TOKEN; default: the one saved by `berth login`)",
    )
    .option(
      "--team <team>",
      "the team to act in, by name or id (env BERTH_TEAM; default: your default team)",
    )
    .version(`berth version ${ctx.version}`, "-v, --version", "print the version and quit");

  const globals = (): GlobalFlags => program.opts<GlobalFlags>();
  registerContainerCommands(program, ctx, globals, setExitCode);
  registerLifecycleCommands(program, ctx, globals, setExitCode);
  registerImageCommands(program, ctx, globals);
  registerArchiveCommands(program, ctx, globals);
  registerBuildCommand(program, ctx, globals);
  registerCommitCommand(program, ctx, globals);
  registerVolumeCommands(program, ctx, globals);
  registerNetworkCommands(program, ctx, globals);
  registerNodeCommands(program, ctx, globals);
  registerAuthCommands(program, ctx, globals);
  registerVersionCommand(program, ctx, globals);
  registerUpdateStatsCommands(program, ctx, globals);
  registerEventsCommand(program, ctx, globals);
  registerExecCommand(program, ctx, globals, setExitCode);
  registerTransferCommands(program, ctx, globals);
  registerUsageCommands(program, ctx, globals);
  registerAuditCommands(program, ctx, globals);
  registerTokenCommands(program, ctx, globals);
  registerTeamCommands(program, ctx, globals);

  forEachCommand(program, (c) => c.showHelpAfterError(`See '${commandPath(c)} --help'.`));
  return program;
}

/** Runs the CLI with `argv` (without node and the script) and answers the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(ctx, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander printed the message already.
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return 0;
      return EXIT_USAGE;
    }
    const err =
      e instanceof CliError ? e : new CliError(e instanceof Error ? e.message : String(e));
    ctx.stderr.write(`${formatCliError(err)}\n`);
    return err.exitCode;
  }
}
