/**
 * Container hardening as spec options: the capability set (Docker's add/drop rules), privileged
 * mode, seccomp, no_new_privs, masked paths, device rules, read-only rootfs and tmpfs mounts.
 * Everything a user can get wrong is checked in `resolveSecurity`, before anything is created.
 */
import { posix } from "node:path";
import { DomainError, type SecurityOptions } from "@berth/core";
import type { OciSeccomp, SpecOpt } from "./oci-spec";
import { defaultSeccompProfile, withSeccomp } from "./seccomp";
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  withCapabilities,
  withMaskedPaths,
  withNoNewPrivileges,
} from "./spec-opts";

/** Every Linux capability, in kernel number order (linux/capability.h, CAP_LAST_CAP = 40). */
export const ALL_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/** Docker's default device cgroup rules: deny all, then the standard character devices. */
export const DEFAULT_DEVICE_RULES = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // /dev/null
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // /dev/zero
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // /dev/full
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // /dev/random
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // /dev/urandom
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // /dev/tty
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" }, // /dev/console
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
  { allow: true, type: "c", major: 136, access: "rwm" }, // /dev/pts/*
  { allow: false, type: "c", major: 10, minor: 200, access: "rwm" }, // /dev/net/tun
];

/** Docker's `--tmpfs` defaults; the user's options are appended and win (`exec` undoes `noexec`). */
export const TMPFS_DEFAULT_OPTIONS = ["nosuid", "nodev", "noexec"];

/** Where a tmpfs would hide the kernel's masking or the runtime's own mounts. */
const RESERVED_TARGETS = ["/proc", "/sys", "/dev"];

function capName(c: string): string {
  const up = c.toUpperCase();
  return up === "ALL" ? "ALL" : up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/**
 * Docker's TweakCapabilities: `add ALL` → every capability except the dropped ones; `drop ALL`
 * → only the added ones; otherwise the default set minus drops, plus adds. Unknown names are a
 * DomainError invalid_input naming them. `known` limits the set to what this kernel has.
 */
export function resolveCapabilities(
  capAdd: readonly string[],
  capDrop: readonly string[],
  known: readonly string[] = ALL_CAPABILITIES,
): string[] {
  const add = capAdd.map(capName);
  const drop = capDrop.map(capName);
  const unknown = [...add, ...drop].filter(
    (c) => c !== "ALL" && !(ALL_CAPABILITIES as readonly string[]).includes(c),
  );
  if (unknown.length > 0)
    throw new DomainError(
      "invalid_input",
      `unknown capabilit${unknown.length === 1 ? "y" : "ies"}: ${[...new Set(unknown)].join(", ")}`,
      { capabilities: unknown },
    );
  const knownSet = new Set(known);
  const unavailable = add.filter((c) => c !== "ALL" && !knownSet.has(c));
  if (unavailable.length > 0)
    throw new DomainError(
      "invalid_input",
      `this node cannot grant ${unavailable.join(", ")} (not in the agent's bounding set)`,
      { capabilities: unavailable },
    );
  let caps: string[];
  if (add.includes("ALL")) caps = known.filter((c) => !drop.includes(c));
  else if (drop.includes("ALL")) caps = [...add];
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)].filter((c) => knownSet.has(c));
}

/**
 * The capabilities the agent can hand out: its bounding set (`CapBnd:` of /proc/self/status,
 * hex), as Docker's GetAllCapabilities does — a host may lack some (this VM has no SYS_RESOURCE).
 */
export function capabilitiesFromMask(hexMask: string): string[] {
  if (!/^[0-9a-f]{1,16}$/i.test(hexMask)) throw new Error(`not a capability mask: ${hexMask}`);
  const mask = BigInt(`0x${hexMask}`);
  return ALL_CAPABILITIES.filter((_c, i) => (mask >> BigInt(i)) & 1n);
}

export interface ResolvedSecurity {
  privileged: boolean;
  capabilities: string[];
  noNewPrivileges: boolean;
  /** undefined = no filter (unconfined or privileged). */
  seccomp: OciSeccomp | undefined;
  readOnlyRootfs: boolean;
}

/** Validates and resolves a container's security options; throws invalid_input on bad input. */
export function resolveSecurity(
  sec: SecurityOptions,
  opts: { knownCapabilities?: readonly string[]; arch?: string } = {},
): ResolvedSecurity {
  const known = opts.knownCapabilities ?? ALL_CAPABILITIES;
  const requested = resolveCapabilities(sec.capAdd, sec.capDrop, known);
  const capabilities = sec.privileged ? [...known] : requested;
  let seccomp: OciSeccomp | undefined;
  if (sec.privileged || sec.seccomp === "unconfined") seccomp = undefined;
  else if (sec.seccomp === "default") seccomp = defaultSeccompProfile(capabilities, opts.arch);
  else seccomp = sec.seccomp as OciSeccomp;
  return {
    privileged: sec.privileged,
    capabilities,
    noNewPrivileges: sec.noNewPrivileges,
    seccomp,
    readOnlyRootfs: sec.readOnlyRootfs,
  };
}

/**
 * Applies the resolved security options. Privileged: every capability, no seccomp, no masked or
 * read-only paths, /sys and /sys/fs/cgroup read-write, every device allowed.
 */
export const withSecurity =
  (r: ResolvedSecurity): SpecOpt =>
  (s) => {
    withCapabilities(r.capabilities)(s);
    withNoNewPrivileges(r.noNewPrivileges)(s);
    withSeccomp(r.seccomp)(s);
    s.root.readonly = r.readOnlyRootfs;
    s.linux.resources ??= {};
    if (r.privileged) {
      withMaskedPaths([], [])(s);
      s.linux.resources.devices = [{ allow: true, access: "rwm" }];
      for (const m of s.mounts)
        if (m.destination === "/sys" || m.destination === "/sys/fs/cgroup")
          m.options = (m.options ?? []).map((o) => (o === "ro" ? "rw" : o));
    } else {
      withMaskedPaths(DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS)(s);
      s.linux.resources.devices = DEFAULT_DEVICE_RULES.map((d) => ({ ...d }));
    }
  };

/** A normalized, absolute tmpfs target that stays inside the rootfs and off reserved mounts. */
export function checkTmpfsTarget(target: string): string {
  const norm = posix.normalize(target);
  if (!posix.isAbsolute(target) || target.split("/").includes(".."))
    throw new DomainError(
      "invalid_input",
      `tmpfs target ${target} must be an absolute path without ..`,
    );
  const clean = norm.length > 1 ? norm.replace(/\/+$/, "") : norm;
  if (clean === "/")
    throw new DomainError("invalid_input", "a tmpfs cannot be mounted over the root filesystem");
  for (const r of RESERVED_TARGETS)
    if (clean === r || clean.startsWith(`${r}/`))
      throw new DomainError(
        "invalid_input",
        `tmpfs target ${target} is under ${r}, which the runtime owns`,
      );
  return clean;
}

/** Validates tmpfs mounts (targets unique and safe); returns them normalized. */
export function resolveTmpfs(
  mounts: readonly { target: string; options: string }[],
): { target: string; options: string[] }[] {
  const seen = new Set<string>();
  return mounts.map((m) => {
    const target = checkTmpfsTarget(m.target);
    if (seen.has(target))
      throw new DomainError("invalid_input", `tmpfs target ${target} is given twice`);
    seen.add(target);
    const user = m.options.split(",").filter((o) => o.length > 0);
    return { target, options: [...TMPFS_DEFAULT_OPTIONS, ...user] };
  });
}

/**
 * Adds tmpfs mounts. runc resolves each destination inside the rootfs (securejoin), so a
 * symlink in the image cannot point the mount outside it.
 */
export const withTmpfs =
  (mounts: readonly { target: string; options: string[] }[]): SpecOpt =>
  (s) => {
    for (const m of mounts) {
      s.mounts = s.mounts.filter((x) => x.destination !== m.target);
      s.mounts.push({
        destination: m.target,
        type: "tmpfs",
        source: "tmpfs",
        options: [...m.options],
      });
    }
  };

/** Refuses working directories in /proc (a `/proc/self/fd/N` cwd can reach host files). */
export function checkWorkingDir(cwd: string): void {
  const norm = posix.normalize(cwd);
  if (norm === "/proc" || norm.startsWith("/proc/"))
    throw new DomainError(
      "invalid_input",
      `the working directory ${cwd} is under /proc, which Berth refuses (it can expose host files)`,
      { workingDir: cwd },
    );
}
