/**
 * `berth run`'s restart and healthcheck flags, as docker spells them: --restart
 * no|always|unless-stopped|on-failure[:N], --health-cmd, --health-interval, --health-timeout,
 * --health-start-period (durations like 1s, 1m30s), --health-retries and --no-healthcheck.
 */
import type { ContainerSpecInput } from "@berth/core";
import type { Command } from "commander";
import { UsageError } from "../errors";
import { parseDurationMs } from "./log-time";

export interface RestartHealthFlags {
  restart?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthRetries?: string;
  /** false with --no-healthcheck (commander's negatable option). */
  healthcheck?: boolean;
}

/** Where each field came from, for error messages. */
export const RESTART_HEALTH_FLAG_OF: Record<string, string> = {
  "spec.restartPolicy": "--restart",
  "spec.healthcheck.test": "--health-cmd",
  "spec.healthcheck.intervalMs": "--health-interval",
  "spec.healthcheck.timeoutMs": "--health-timeout",
  "spec.healthcheck.startPeriodMs": "--health-start-period",
  "spec.healthcheck.retries": "--health-retries",
};

export function defineRestartHealthOptions(cmd: Command): Command {
  return cmd
    .option(
      "--restart <policy>",
      "restart policy when the container exits: no, on-failure[:max-retries], always, unless-stopped",
    )
    .option("--health-cmd <command>", "command to run to check health (run by /bin/sh -c)")
    .option(
      "--health-interval <duration>",
      "time between running the check (ms|s|m|h) (default 30s)",
    )
    .option("--health-timeout <duration>", "maximum time to allow one check to run (default 30s)")
    .option(
      "--health-start-period <duration>",
      "start period for the container to initialize before failures count (default 0s)",
    )
    .option("--health-retries <n>", "consecutive failures needed to report unhealthy (default 3)")
    .option("--no-healthcheck", "disable any container-specified HEALTHCHECK");
}

function invalid(value: string, flag: string, why: string): UsageError {
  return new UsageError(
    `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}`,
    "see `berth run --help`",
  );
}

function duration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value.trim());
  if (ms === null) throw invalid(value, flag, "expected a duration like 500ms, 10s or 1m30s");
  // docker: 0 means "use the default"
  return ms === 0 ? undefined : Math.round(ms);
}

export function parseRestartPolicy(value: string): ContainerSpecInput["restartPolicy"] {
  const m = /^(no|always|unless-stopped|on-failure)(?::(.*))?$/.exec(value.trim());
  if (!m)
    throw invalid(value, "--restart", "expected no, always, unless-stopped or on-failure[:N]");
  if (m[2] === undefined)
    return { name: m[1] as "no" | "always" | "unless-stopped" | "on-failure" };
  if (m[1] !== "on-failure")
    throw invalid(value, "--restart", `maximum retry count cannot be used with "${m[1]}"`);
  if (!/^\d+$/.test(m[2])) throw invalid(value, "--restart", "the retry count is a number");
  return { name: "on-failure", maximumRetryCount: Number(m[2]) };
}

/** The spec fields these flags set; `autoRemove` is --rm, which docker refuses with a policy. */
export function parseRestartHealthFlags(
  flags: RestartHealthFlags,
  autoRemove: boolean,
): Pick<ContainerSpecInput, "restartPolicy" | "healthcheck"> {
  const out: Pick<ContainerSpecInput, "restartPolicy" | "healthcheck"> = {};
  if (flags.restart !== undefined) {
    out.restartPolicy = parseRestartPolicy(flags.restart);
    if (autoRemove && out.restartPolicy?.name !== "no")
      throw new UsageError("conflicting options: --restart and --rm", "use one or the other");
  }
  const tuning = {
    "--health-interval": flags.healthInterval,
    "--health-timeout": flags.healthTimeout,
    "--health-start-period": flags.healthStartPeriod,
    "--health-retries": flags.healthRetries,
  };
  const tuned = Object.entries(tuning).find(([, v]) => v !== undefined)?.[0];
  if (flags.healthcheck === false) {
    if (flags.healthCmd !== undefined || tuned)
      throw new UsageError("--no-healthcheck conflicts with --health-* options");
    out.healthcheck = { test: ["NONE"] };
    return out;
  }
  if (flags.healthCmd === undefined) {
    if (tuned)
      throw new UsageError(
        `${tuned} needs --health-cmd`,
        "give the command with --health-cmd (tuning only the image's HEALTHCHECK is not supported)",
      );
    return out;
  }
  let retries: number | undefined;
  if (flags.healthRetries !== undefined) {
    if (!/^\d+$/.test(flags.healthRetries.trim()))
      throw invalid(flags.healthRetries, "--health-retries", "expected a number");
    retries = Number(flags.healthRetries) || undefined; // 0 = default, as docker
  }
  out.healthcheck = {
    test: ["CMD-SHELL", flags.healthCmd],
    intervalMs: duration(flags.healthInterval, "--health-interval"),
    timeoutMs: duration(flags.healthTimeout, "--health-timeout"),
    startPeriodMs: duration(flags.healthStartPeriod, "--health-start-period"),
    retries,
  };
  return out;
}
