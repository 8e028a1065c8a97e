/** Builds the OCI runtime the agent was configured with, after probing what the host supports. */
import { join } from "node:path";
import type { RuntimeInfo } from "@berth/core";
import type { ResourceUpdater } from "../cgroups/cgroup-driver";
import type { CgroupMode } from "../cgroups/detect";
import { CrunRuntime } from "./crun-runtime";
import type { OciRuntime } from "./oci-runtime";
import { RuncRuntime } from "./runc-runtime";
import {
  assertUsable,
  DEFAULT_RUNTIME_PATHS,
  probeRuntimes,
  runtimeNameOf,
  type RuntimeName,
} from "./runtime-probe";

export interface RuntimeSelection {
  runtime: OciRuntime & ResourceUpdater;
  /** Every probed runtime, the selected one first (NodeFacts.runtimes). */
  runtimes: RuntimeInfo[];
}

/**
 * `name` wins; else the name is read from `path`'s basename; else runc. Each runtime keeps its
 * state under `<stateDir>/<name>`. Throws a DomainError when the selected runtime is unusable.
 */
export async function selectRuntime(opts: {
  name?: RuntimeName | undefined;
  path?: string | undefined;
  stateDir: string;
  cgroupMode: CgroupMode;
}): Promise<RuntimeSelection> {
  const name = opts.name ?? (opts.path === undefined ? "runc" : runtimeNameOf(opts.path));
  const path = opts.path ?? DEFAULT_RUNTIME_PATHS[name];
  const runtimes = await probeRuntimes(name, path, opts.cgroupMode);
  assertUsable(runtimes[0]!);
  const root = join(opts.stateDir, name);
  const runtime =
    name === "crun" ? await CrunRuntime.create(path, root) : await RuncRuntime.create(path, root);
  return { runtime, runtimes };
}
