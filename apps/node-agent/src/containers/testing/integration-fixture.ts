/**
 * Shared scaffolding of the root integration tests of the engine (`*.integration.test.ts`):
 * the root/CI gate, per-file temp state dirs, container.run params, polling with a deadline,
 * log reads, mount checks and the teardown that force-removes every container.
 *
 * process.env is not read here (lint); the test files pass `process.env.CI === "true"` in.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommandSchemas,
  newContainerId,
  type CommandParamsInput,
  type ContainerSpecInput,
  type LogLine,
} from "@berth/core";
import type { ContainerService } from "../container-service";

/**
 * Whether the root integration tests of a file run: as root, or in CI (where a missing root
 * must fail, not skip). Prints why when they are skipped.
 */
export function rootOrCi(what: string, inCi: boolean): boolean {
  const enabled = process.getuid?.() === 0 || inCi;
  if (!enabled) console.warn(`SKIPPED: ${what}`);
  return enabled;
}

/** A fresh temp dir `<tmpdir>/<prefix>XXXXXX`, or "" when the tests are skipped. */
export function tempStateDir(prefix: string, enabled: boolean): string {
  return enabled ? mkdtempSync(join(tmpdir(), prefix)) : "";
}

let n = 0;
/** Parsed container.run params for a busybox container named `<prefix>-<pid>-<n>`. */
export function runParams(
  prefix: string,
  spec: Omit<ContainerSpecInput, "image"> & { image?: string },
  extra: Partial<CommandParamsInput<"container.run">> = {},
) {
  const p: CommandParamsInput<"container.run"> = {
    containerId: newContainerId(),
    name: `${prefix}-${process.pid}-${n++}`,
    spec: { image: "busybox", ...spec },
    ...extra,
  };
  return CommandSchemas["container.run"].params.parse(p);
}

/** Polls `fn` every `everyMs` until it returns a value other than undefined; throws after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
  everyMs = 25,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits for the container to be `exited`; returns its status. */
export const waitExited = (svc: ContainerService, id: string, ms?: number) =>
  waitFor(
    `${id.slice(0, 12)} to exit`,
    () => {
      const st = svc.inspect(id);
      return st.state === "exited" ? st : undefined;
    },
    ms,
  );

/** Every log line of the container so far (no follow). */
export async function allLogs(
  svc: ContainerService,
  id: string,
  o: { since?: string; until?: string; tail?: number } = {},
): Promise<LogLine[]> {
  const out: LogLine[] = [];
  await svc.logs({ containerId: id, follow: false, ...o }, new AbortController().signal, (l) =>
    out.push(...l),
  );
  return out;
}

/** The container's log lines so far, joined by newlines. */
export const logText = async (svc: ContainerService, id: string) =>
  (await allLogs(svc, id)).map((l) => l.line).join("\n");

/** The mount points of this process at or beneath `dir`, in mountinfo order. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dir));
}

/** Whether `path` is a mount point of this process. */
export function mounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === path);
}

/** The host pids in the pids-controller cgroup of `pid` (a container's init). */
export function cgroupPids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .find((l) => /^\d+:[^:]*\bpids\b[^:]*:/.test(l));
  if (!line) throw new Error(`no pids cgroup for pid ${pid}`);
  const path = line.split(":").slice(2).join(":");
  return readFileSync(join("/sys/fs/cgroup/pids", path, "cgroup.procs"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map(Number);
}

/** A process's command line, spaces for NULs ("" once it is gone). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** Force-removes every container the service lists (ignoring failures), then closes it. */
export async function removeAllAndClose(svc: ContainerService | undefined): Promise<void> {
  if (!svc) return;
  for (const c of svc.list())
    await svc.remove({ containerId: c.id, force: true }).catch(() => undefined);
  await svc.close();
}

/** Reports any mount left beneath `dir` and removes the dir ("" is a no-op). */
export function removeStateDir(dir: string): void {
  if (!dir) return;
  for (const mp of mountsUnder(dir)) console.error(`leftover mount ${mp}`);
  rmSync(dir, { recursive: true, force: true });
}
