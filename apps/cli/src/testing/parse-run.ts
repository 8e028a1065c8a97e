/**
 * Test-only: parses a `berth run …` command line with the real option definitions (commander, as
 * the program does) and returns what `toRunInput` makes of it. Shared by the run flag tests.
 */
import { Command } from "commander";
import { defineRunCommand, toRunInput, type RunFlags } from "../commands/run-args";

export interface ParseRunOptions {
  /** The CLI's environment, for `-e KEY` without a value. */
  env?: Record<string, string>;
  /** Like the real program: `-v` at the top level is --version (after `run` it is --volume). */
  topLevelVersion?: boolean;
}

export function parseRun(argv: string[], o: ParseRunOptions = {}) {
  let captured: { image: string; command: string[]; flags: RunFlags } | null = null;
  const program = new Command("berth").enablePositionalOptions().exitOverride();
  if (o.topLevelVersion) program.version("test", "-v, --version");
  defineRunCommand(program.command("run"))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .action((image: string, command: string[], flags: RunFlags) => {
      captured = { image, command, flags };
    });
  program.parse(["run", ...argv], { from: "user" });
  const c = captured as { image: string; command: string[]; flags: RunFlags } | null;
  if (!c) throw new Error("the run action was not called");
  const env = o.env;
  return toRunInput(c.image, c.command, c.flags, env ? (n) => env[n] : undefined);
}
