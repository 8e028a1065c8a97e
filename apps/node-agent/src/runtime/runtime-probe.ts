/**
 * Which OCI runtimes can run containers on this host, decided once at agent start. runc works on
 * every cgroup layout; crun 1.8 refuses a hybrid layout (v1 controllers beside a cgroup2 mount at
 * /sys/fs/cgroup/unified) with "cgroups in hybrid mode not supported", so on such hosts it is
 * reported with usable: false and a reason instead of failing the first `docker run`.
 */
import { access, constants } from "node:fs/promises";
import { DomainError, type RuntimeInfo } from "@berth/core";
import { z } from "zod";
import type { CgroupMode } from "../cgroups/detect";
import { run } from "../sys/exec";

export const RuntimeNameSchema = z.enum(["runc", "crun"]);
export type RuntimeName = z.infer<typeof RuntimeNameSchema>;

export const DEFAULT_RUNTIME_PATHS: Readonly<Record<RuntimeName, string>> = {
  runc: "/usr/sbin/runc",
  crun: "/usr/bin/crun",
};

/** Pure: why `name` cannot run containers under a cgroup layout, or undefined when it can. */
export function layoutObstacle(name: RuntimeName, mode: CgroupMode): string | undefined {
  if (name === "crun" && mode === "hybrid") {
    return (
      "crun refuses this host's hybrid cgroup layout (v1 controllers beside cgroup2 at " +
      '/sys/fs/cgroup/unified): "cgroups in hybrid mode not supported, drop all controllers ' +
      'from cgroupv2"; use runc, or a host booted with a pure cgroup v1 or v2 layout'
    );
  }
  return undefined;
}

/** Pure: the runtime name a binary path stands for (crun when its basename says so). */
export function runtimeNameOf(path: string): RuntimeName {
  return /(^|\/)crun$/.test(path) ? "crun" : "runc";
}

/** Probes one runtime binary: present and executable, answers `--version`, fits the layout. */
export async function probeRuntime(
  name: RuntimeName,
  path: string,
  mode: CgroupMode,
): Promise<RuntimeInfo> {
  try {
    await access(path, constants.X_OK);
  } catch {
    return { name, version: "", path, usable: false, reason: `${path} is not installed` };
  }
  const r = await run([path, "--version"], { allowFailure: true, timeoutMs: 10_000 }).catch(
    (e: unknown) => ({ code: -1, stdout: "", stderr: (e as Error).message }),
  );
  if (r.code !== 0) {
    const detail = r.stderr.trim().split("\n")[0] ?? "";
    return {
      name,
      version: "",
      path,
      usable: false,
      reason: `${path} --version failed (exit code ${r.code})${detail ? `: ${detail}` : ""}`,
    };
  }
  const version = /version\s+(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.split("\n")[0]!.trim();
  const obstacle = layoutObstacle(name, mode);
  return obstacle === undefined
    ? { name, version, path, usable: true }
    : { name, version, path, usable: false, reason: obstacle };
}

/**
 * Probes runc and crun (the selected one at `selectedPath`, the others at their default paths)
 * and returns them all, the selected one first.
 */
export async function probeRuntimes(
  selected: RuntimeName,
  selectedPath: string,
  mode: CgroupMode,
): Promise<RuntimeInfo[]> {
  const names = [selected, ...RuntimeNameSchema.options.filter((n) => n !== selected)];
  return Promise.all(
    names.map((n) =>
      probeRuntime(n, n === selected ? selectedPath : DEFAULT_RUNTIME_PATHS[n], mode),
    ),
  );
}

/** Throws a clear DomainError when the selected runtime cannot run containers here. */
export function assertUsable(info: RuntimeInfo): void {
  if (!info.usable) {
    throw new DomainError(
      "runtime",
      `runtime ${info.name} (${info.path}) cannot be used on this host: ${info.reason ?? "unknown"}`,
      { runtime: info },
    );
  }
}
