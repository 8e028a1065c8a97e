/**
 * `berth run`'s flags, as docker spells them, and their translation into the API's
 * RunContainerInput. Options are parsed up to IMAGE; everything after IMAGE is the command
 * (commander's passThroughOptions), so `berth run busybox ls -l` passes `-l` to ls.
 */
import { parseByteSize, RunContainerInputSchema, type RunContainerInput } from "@berth/core";
import { type Command } from "commander";
import { CliError, EXIT_USAGE, UsageError } from "../errors";
import { LIMIT_FLAG_OF, parseLimitFlags, type LimitFlags } from "./limit-flags";
import {
  defineRestartHealthOptions,
  parseRestartHealthFlags,
  RESTART_HEALTH_FLAG_OF,
  type RestartHealthFlags,
} from "./restart-health-flags";
import {
  defineSecurityOptions,
  parseSecurityFlags,
  SECURITY_FLAG_OF,
  type SecurityFlags,
} from "./security-flags";
import {
  defineVolumeNsOptions,
  parseVolumeNsFlags,
  VOLUME_NS_FLAG_OF,
  type VolumeNsFlags,
} from "./volume-ns-flags";
import {
  defineDeviceOptions,
  DEVICE_FLAG_OF,
  parseDeviceFlags,
  type DeviceFlags,
} from "./device-flags";
import {
  defineLogOptOptions,
  LOG_OPT_FLAG_OF,
  parseLogOptFlags,
  type LogOptFlags,
} from "./log-opt-flags";
import {
  defineNetworkOptions,
  NETWORK_FLAG_OF,
  parseNetworkFlags,
  type NetworkFlags,
} from "./network-flags";

export interface RunFlags
  extends
    LimitFlags,
    SecurityFlags,
    RestartHealthFlags,
    VolumeNsFlags,
    LogOptFlags,
    DeviceFlags,
    NetworkFlags {
  detach?: boolean;
  rm?: boolean;
  name?: string;
  node?: string;
  /** The owning team (as the global `--team`). */
  team?: string;
  env?: string[];
  label?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Declares run's options and arguments on a command (shared by the program and the tests). */
export function defineRunCommand(cmd: Command): Command {
  return defineNetworkOptions(
    defineDeviceOptions(
      defineLogOptOptions(
        defineVolumeNsOptions(defineRestartHealthOptions(defineSecurityOptions(cmd))),
      ),
    ),
  )
    .description("Create and run a new container from an image")
    .usage("[OPTIONS] IMAGE [COMMAND] [ARG...]")
    .argument("<image>", "image to run, e.g. busybox or registry:5000/team/app:tag")
    .argument("[command...]", "command and arguments (override the image's CMD)")
    .option("-d, --detach", "run in the background and print the container ID")
    .option("--rm", "automatically remove the container when it exits")
    .option("--name <name>", "assign a name to the container")
    .option("--node <node>", "run on this node (id or name) instead of the least busy one")
    .option("--team <team>", "the team that owns the container (default: your default team)")
    .option("-m, --memory <bytes>", "memory limit (e.g. 64m, 1g)")
    .option("--pids-limit <n>", "tune the container's pids limit (-1 for unlimited)")
    .option("--memory-reservation <bytes>", "memory soft limit (e.g. 32m)")
    .option(
      "--memory-swap <bytes>",
      "memory + swap limit; -1 for unlimited swap (default 2× memory)",
    )
    .option("--cpus <n>", "number of CPUs (e.g. 0.5, 1.5)")
    .option("-c, --cpu-shares <n>", "CPU shares (relative weight)")
    .option("--cpuset-cpus <list>", "CPUs in which to allow execution (0-3, 0,1)")
    .option("--cpuset-mems <list>", "memory nodes in which to allow execution (0-3, 0,1)")
    .option("--blkio-weight <n>", "block IO weight, 10 to 1000 (where the kernel has it)")
    .option(
      "-e, --env <KEY=VALUE>",
      "set an environment variable (repeatable; KEY alone copies it from here)",
      collect,
    )
    .option("-l, --label <KEY=VALUE>", "set a label (repeatable)", collect)
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-u, --user <user>", "username or UID (format: <name|uid>[:<group|gid>])")
    .option("--hostname <name>", "container host name")
    .option("--entrypoint <cmd>", "overwrite the image's ENTRYPOINT")
    .passThroughOptions();
}

/** Where each field of RunContainerInput came from on the command line, for error messages. */
const FLAG_OF_PATH: Record<string, string> = {
  name: "--name",
  node: "--node",
  "spec.image": "IMAGE",
  "spec.command": "COMMAND",
  "spec.entrypoint": "--entrypoint",
  "spec.env": "-e, --env",
  "spec.labels": "-l, --label",
  "spec.workingDir": "-w, --workdir",
  "spec.user": "-u, --user",
  "spec.hostname": "--hostname",
  ...SECURITY_FLAG_OF,
  ...RESTART_HEALTH_FLAG_OF,
  ...VOLUME_NS_FLAG_OF,
  ...LOG_OPT_FLAG_OF,
  ...DEVICE_FLAG_OF,
  ...NETWORK_FLAG_OF,
  ...Object.fromEntries(Object.entries(LIMIT_FLAG_OF).map(([k, v]) => [`spec.limits.${k}`, v])),
};

function flagOf(path: PropertyKey[]): string {
  for (let n = path.length; n > 0; n--) {
    const key = path.slice(0, n).map(String).join(".");
    const flag = FLAG_OF_PATH[key];
    if (flag) return flag;
  }
  return path.map(String).join(".");
}

function invalidFlag(value: string, flag: string, why: string): UsageError {
  return new UsageError(
    `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}`,
    "see `berth run --help`",
  );
}

/**
 * Builds and validates the API input. `lookupEnv` resolves `-e KEY` (no `=`) like docker:
 * the variable is copied from the CLI's environment, or dropped when unset there.
 */
export function toRunInput(
  image: string,
  command: string[],
  flags: RunFlags,
  lookupEnv: (name: string) => string | undefined = () => undefined,
  readFile?: (path: string) => string,
): RunContainerInput {
  const env: string[] = [];
  for (const e of flags.env ?? []) {
    if (e.includes("=")) env.push(e);
    else if (e.length > 0) {
      const v = lookupEnv(e);
      if (v !== undefined) env.push(`${e}=${v}`);
    } else throw invalidFlag(e, "-e, --env", "expected KEY=VALUE");
  }
  const labels: Record<string, string> = {};
  for (const l of flags.label ?? []) {
    const i = l.indexOf("=");
    if (i === 0) throw invalidFlag(l, "-l, --label", "expected KEY=VALUE");
    if (i < 0) labels[l] = "";
    else labels[l.slice(0, i)] = l.slice(i + 1);
  }
  let memoryBytes: number | undefined;
  if (flags.memory !== undefined) {
    try {
      memoryBytes = parseByteSize(flags.memory);
    } catch (e) {
      throw invalidFlag(flags.memory, "-m, --memory", (e as Error).message);
    }
  }
  let pidsLimit: number | undefined;
  if (flags.pidsLimit !== undefined) {
    if (!/^-?\d+$/.test(flags.pidsLimit.trim()))
      throw invalidFlag(flags.pidsLimit, "--pids-limit", "expected an integer");
    const n = Number(flags.pidsLimit);
    pidsLimit = n > 0 ? n : undefined; // docker: 0 or -1 means unlimited
  }
  let entrypoint: string[] | undefined;
  if (flags.entrypoint !== undefined)
    entrypoint = flags.entrypoint === "" ? [] : [flags.entrypoint];

  const candidate = {
    name: flags.name,
    node: flags.node,
    autoRemove: flags.rm === true,
    spec: {
      image,
      command: command.length > 0 ? command : undefined,
      entrypoint,
      env,
      workingDir: flags.workdir,
      user: flags.user,
      hostname: flags.hostname,
      limits: { ...parseLimitFlags(flags), memoryBytes, pidsLimit },
      labels,
      ...parseSecurityFlags(flags, readFile),
      ...parseRestartHealthFlags(flags, flags.rm === true),
      ...parseVolumeNsFlags(flags),
      ...parseLogOptFlags(flags),
      ...parseDeviceFlags(flags),
      ...parseNetworkFlags(flags),
    },
  };
  const parsed = RunContainerInputSchema.safeParse(candidate);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${flagOf(i.path)}: ${i.message}`);
    throw new CliError(details.length === 1 ? `invalid ${details[0]}` : "invalid arguments", {
      details: details.length === 1 ? [] : details,
      hint: "see `berth run --help`",
      exitCode: EXIT_USAGE,
    });
  }
  return parsed.data;
}
