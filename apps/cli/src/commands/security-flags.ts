/**
 * `berth run`'s security flags, as docker spells them: --cap-add/--cap-drop, --privileged,
 * --security-opt no-new-privileges[=bool] and seccomp=unconfined|<file.json>, --read-only and
 * --tmpfs /path[:opts]. The profile file is read and JSON-parsed here, on the CLI's machine.
 */
import { readFileSync } from "node:fs";
import { SeccompProfileSchema, type ContainerSpecInput, type SeccompProfile } from "@berth/core";
import type { Command } from "commander";
import { UsageError } from "../errors";

export interface SecurityFlags {
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  readOnly?: boolean;
  tmpfs?: string[];
}

/** Where each field came from, for error messages. */
export const SECURITY_FLAG_OF: Record<string, string> = {
  "spec.security.capAdd": "--cap-add",
  "spec.security.capDrop": "--cap-drop",
  "spec.security.privileged": "--privileged",
  "spec.security.noNewPrivileges": "--security-opt",
  "spec.security.seccomp": "--security-opt",
  "spec.security.readOnlyRootfs": "--read-only",
  "spec.tmpfs": "--tmpfs",
};

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function defineSecurityOptions(cmd: Command): Command {
  return cmd
    .option("--cap-add <cap>", "add a Linux capability (repeatable; e.g. NET_ADMIN, ALL)", collect)
    .option("--cap-drop <cap>", "drop a Linux capability (repeatable; e.g. CHOWN, ALL)", collect)
    .option("--privileged", "give the container every capability and device, no seccomp")
    .option(
      "--security-opt <opt>",
      "no-new-privileges[=true|false], seccomp=unconfined|<profile.json> (repeatable)",
      collect,
    )
    .option("--read-only", "mount the container's root filesystem as read only")
    .option("--tmpfs <path[:opts]>", "mount a tmpfs, e.g. /run:rw,size=64m (repeatable)", collect);
}

function invalid(value: string, flag: string, why: string): UsageError {
  return new UsageError(
    `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}`,
    "see `berth run --help`",
  );
}

function parseBool(value: string, opt: string): boolean {
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw invalid(opt, "--security-opt", "expected true or false");
}

/**
 * The `security` and `tmpfs` parts of a container spec (still to be validated by the schema).
 * `readFile` reads a seccomp profile; missing or invalid JSON is a usage error naming the file.
 */
export function parseSecurityFlags(
  flags: SecurityFlags,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): Pick<ContainerSpecInput, "security" | "tmpfs"> {
  const security: NonNullable<ContainerSpecInput["security"]> = {
    capAdd: flags.capAdd ?? [],
    capDrop: flags.capDrop ?? [],
    privileged: flags.privileged === true,
    readOnlyRootfs: flags.readOnly === true,
  };
  for (const opt of flags.securityOpt ?? []) {
    // docker accepts both `key=value` and the older `key:value`.
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(opt);
    const key = m?.[1];
    const value = m?.[2];
    if (key === "no-new-privileges") {
      security.noNewPrivileges = value === undefined ? true : parseBool(value, opt);
    } else if (key === "seccomp" && value !== undefined && value.length > 0) {
      if (value === "unconfined") security.seccomp = "unconfined";
      else security.seccomp = readProfile(value, opt, readFile);
    } else {
      throw invalid(
        opt,
        "--security-opt",
        "expected no-new-privileges[=true|false] or seccomp=unconfined|<profile.json>",
      );
    }
  }
  const tmpfs = (flags.tmpfs ?? []).map((t) => {
    const i = t.indexOf(":");
    const target = i < 0 ? t : t.slice(0, i);
    if (!target.startsWith("/")) throw invalid(t, "--tmpfs", "the path must be absolute");
    return { target, options: i < 0 ? "" : t.slice(i + 1) };
  });
  return { security, tmpfs };
}

function readProfile(
  path: string,
  opt: string,
  readFile: (path: string) => string,
): SeccompProfile {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw invalid(opt, "--security-opt", `cannot read seccomp profile: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(opt, "--security-opt", `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const profile = SeccompProfileSchema.safeParse(json);
  if (!profile.success) {
    const why = profile.error.issues
      .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw invalid(opt, "--security-opt", `${path} is not a seccomp profile: ${why}`);
  }
  return profile.data;
}
