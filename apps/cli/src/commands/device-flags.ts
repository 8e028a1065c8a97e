/**
 * `berth run|create --device /dev/HOST[:/dev/CONTAINER][:PERMISSIONS]`, as docker parses it:
 * one part is the host path (same path inside); two parts are host + container path, or host
 * + permissions when the second part is a subset of rwm; three parts are all of them.
 * Administrators only (the server refuses others): a host device is host access.
 */
import type { ContainerSpecInput } from "@berth/core";
import type { Command } from "commander";
import { UsageError } from "../errors";

export interface DeviceFlags {
  device?: string[];
}

/** Where each field came from, for error messages. */
export const DEVICE_FLAG_OF: Record<string, string> = { "spec.devices": "--device" };

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function defineDeviceOptions(cmd: Command): Command {
  return cmd.option(
    "--device <host[:container][:rwm]>",
    "add a host device to the container, e.g. /dev/fuse or /dev/sdb:/dev/xvdb:r (administrators only; repeatable)",
    collect,
  );
}

const isPermissions = (s: string) => /^(?!.*(.).*\1)[rwm]{1,3}$/.test(s);

type DeviceInput = NonNullable<ContainerSpecInput["devices"]>[number];

/** Parses one `--device` value (the schema then checks the paths). */
export function parseDeviceFlag(v: string): DeviceInput {
  const parts = v.split(":");
  const bad = (why: string) =>
    new UsageError(
      `invalid argument ${JSON.stringify(v)} for "--device" flag: ${why}`,
      "expected /dev/HOST[:/dev/CONTAINER][:PERMISSIONS], permissions a subset of rwm",
    );
  if (parts.length > 3 || parts.some((p) => p === "")) throw bad("bad format");
  const [hostPath, second, third] = parts as [string, string | undefined, string | undefined];
  if (third !== undefined) {
    if (!isPermissions(third)) throw bad(`invalid permissions ${JSON.stringify(third)}`);
    return { hostPath, containerPath: second, permissions: third };
  }
  if (second !== undefined)
    return isPermissions(second)
      ? { hostPath, permissions: second }
      : { hostPath, containerPath: second };
  return { hostPath };
}

export function parseDeviceFlags(flags: DeviceFlags): Pick<ContainerSpecInput, "devices"> {
  if (!flags.device || flags.device.length === 0) return {};
  return { devices: flags.device.map(parseDeviceFlag) };
}
