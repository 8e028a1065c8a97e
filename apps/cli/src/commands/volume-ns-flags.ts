/**
 * `berth run`'s volume and namespace flags, as docker spells them: `-v, --volume
 * /host/path:/ctr/path[:ro|rw]` (bind) or `name:/ctr/path[:ro|rw]` (named volume), `--pid host`,
 * `--ipc host|private|shareable`, `--uts host` and `--userns auto|host`.
 */
import type { ContainerSpecInput } from "@berth/core";
import type { Command } from "commander";
import { UsageError } from "../errors";

export interface VolumeNsFlags {
  volume?: string[];
  pid?: string;
  ipc?: string;
  uts?: string;
  userns?: string;
}

/** Where each field came from, for error messages. */
export const VOLUME_NS_FLAG_OF: Record<string, string> = {
  "spec.mounts": "-v, --volume",
  "spec.namespaces.pid": "--pid",
  "spec.namespaces.ipc": "--ipc",
  "spec.namespaces.uts": "--uts",
  "spec.userns": "--userns",
};

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function defineVolumeNsOptions(cmd: Command): Command {
  return cmd
    .option(
      "-v, --volume <src:dst[:ro]>",
      "bind mount a host path (/host:/ctr) or a named volume (name:/ctr), optionally :ro (repeatable)",
      collect,
    )
    .option("--pid <mode>", "PID namespace to use: host (administrators only)")
    .option("--ipc <mode>", "IPC mode to use: private, shareable or host (administrators only)")
    .option("--uts <mode>", "UTS namespace to use: host")
    .option(
      "--userns <mode>",
      "user namespace: auto (own 65536 subordinate ids) or host (default: host)",
    );
}

function invalid(value: string, flag: string, why: string): UsageError {
  return new UsageError(
    `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}`,
    "see `berth run --help`",
  );
}

type MountInput = NonNullable<ContainerSpecInput["mounts"]>[number];

/** Parses one `-v` value into a mount (still to be validated by the schema). */
export function parseVolumeFlag(v: string): MountInput {
  const parts = v.split(":");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === ""))
    throw invalid(
      v,
      "-v, --volume",
      "expected /host/path:/container/path[:ro] or name:/container/path[:ro] (anonymous volumes are not supported)",
    );
  const [source, target, opts] = parts as [string, string, string | undefined];
  let readOnly = false;
  for (const o of opts?.split(",") ?? []) {
    if (o === "ro") readOnly = true;
    else if (o === "rw") readOnly = false;
    else throw invalid(v, "-v, --volume", `unknown option ${JSON.stringify(o)} (ro or rw)`);
  }
  return source.startsWith("/")
    ? { type: "bind", source, target, readOnly }
    : { type: "volume", source, target, readOnly };
}

/** The `mounts` and `namespaces` parts of a container spec. */
export function parseVolumeNsFlags(
  flags: VolumeNsFlags,
): Pick<ContainerSpecInput, "mounts" | "namespaces" | "userns"> {
  const out: Pick<ContainerSpecInput, "mounts" | "namespaces" | "userns"> = {};
  if (flags.userns !== undefined) {
    if (flags.userns !== "auto" && flags.userns !== "host")
      throw invalid(flags.userns, "--userns", "expected auto or host");
    out.userns = flags.userns;
  }
  if (flags.volume?.length) out.mounts = flags.volume.map(parseVolumeFlag);
  const ns: NonNullable<ContainerSpecInput["namespaces"]> = {};
  if (flags.pid !== undefined) {
    if (flags.pid !== "host" && flags.pid !== "private")
      throw invalid(flags.pid, "--pid", "expected host (container:<id> is not supported)");
    ns.pid = flags.pid;
  }
  if (flags.ipc !== undefined) {
    if (flags.ipc !== "host" && flags.ipc !== "private" && flags.ipc !== "shareable")
      throw invalid(flags.ipc, "--ipc", "expected private, shareable or host");
    ns.ipc = flags.ipc;
  }
  if (flags.uts !== undefined) {
    if (flags.uts !== "host" && flags.uts !== "private")
      throw invalid(flags.uts, "--uts", "expected host");
    ns.uts = flags.uts;
  }
  if (Object.keys(ns).length > 0) out.namespaces = ns;
  return out;
}
