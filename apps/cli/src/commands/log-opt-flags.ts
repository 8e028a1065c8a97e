/**
 * `berth run`'s `--log-opt KEY=VALUE` (repeatable), as docker's json-file driver spells it:
 * `max-size` (bytes with an optional unit k, m, g: `10m`) and `max-file` (how many files are
 * kept, 1–100; needs max-size). Any other key is refused.
 */
import { parseByteSize, type ContainerSpecInput } from "@berth/core";
import type { Command } from "commander";
import { UsageError } from "../errors";

export interface LogOptFlags {
  logOpt?: string[];
}

/** Where each field came from, for error messages. */
export const LOG_OPT_FLAG_OF: Record<string, string> = {
  "spec.logConfig.maxSize": "--log-opt max-size",
  "spec.logConfig.maxFile": "--log-opt max-file",
  "spec.logConfig": "--log-opt",
};

const LOG_OPT_KEYS = ["max-size", "max-file"] as const;

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function defineLogOptOptions(cmd: Command): Command {
  return cmd.option(
    "--log-opt <KEY=VALUE>",
    "log rotation: max-size=<size> (e.g. 10m) and max-file=<n> (repeatable)",
    collect,
  );
}

function invalid(value: string, why: string): UsageError {
  return new UsageError(
    `invalid argument ${JSON.stringify(value)} for "--log-opt" flag: ${why}`,
    "see `berth run --help`",
  );
}

/** The `logConfig` part of a container spec (still to be validated by the schema). */
export function parseLogOptFlags(flags: LogOptFlags): Pick<ContainerSpecInput, "logConfig"> {
  if (!flags.logOpt?.length) return {};
  const cfg: NonNullable<ContainerSpecInput["logConfig"]> = {};
  for (const opt of flags.logOpt) {
    const i = opt.indexOf("=");
    const key = i < 0 ? opt : opt.slice(0, i);
    const value = i < 0 ? "" : opt.slice(i + 1);
    if (!(LOG_OPT_KEYS as readonly string[]).includes(key))
      throw invalid(
        opt,
        `unknown log option ${JSON.stringify(key)} (supported: ${LOG_OPT_KEYS.join(", ")})`,
      );
    if (value === "") throw invalid(opt, `expected ${key}=VALUE`);
    if (key === "max-size") {
      try {
        cfg.maxSize = parseByteSize(value);
      } catch (e) {
        throw invalid(opt, (e as Error).message);
      }
    } else {
      if (!/^\d+$/.test(value)) throw invalid(opt, "max-file is a whole number of files");
      cfg.maxFile = Number(value);
    }
  }
  return { logConfig: cfg };
}
