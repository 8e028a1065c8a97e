/**
 * RUN: the step's command in a real container on the layers so far. The rootfs is the step's
 * overlay (the builder mounts it); the OCI spec is built with the same options as containers
 * (default capabilities, default seccomp profile, masked and read-only paths, no new
 * privileges, default mounts), in new pid/ipc/uts/mount namespaces and — unless the build
 * allowed `--network=host` — a network namespace of its own with only `lo`. Limits (memory,
 * pids) apply through a cgroup beneath the agent's own (the driver's cgroupsPath, as for
 * containers). `runc run` runs in the foreground: its stdout/stderr are the process's, read
 * line by line for the progress stream; the last lines are kept for the error message.
 * runc state, cgroups and the bundle are removed on success and failure.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SecurityOptionsSchema, type ContainerLimits } from "@berth/core";
import type { CgroupDriver } from "../../cgroups/cgroup-driver";
import type { RuncRuntime } from "../../runtime/runc-runtime";
import { resolveSecurity, withSecurity } from "../../runtime/spec/security";
import {
  buildSpec,
  withAnnotations,
  withCgroupsPath,
  withDefaultMounts,
  withHostname,
  withLimits,
  withNamespaces,
  withProcess,
  withRlimits,
  withRootfs,
  type NamespaceType,
} from "../../runtime/spec/spec-opts";

export interface RunStepOptions {
  runc: RuncRuntime;
  cgroups: CgroupDriver;
  /** Mounted rootfs (the step's overlay). */
  rootfs: string;
  /** Directory for the bundle (config.json). */
  bundleDir: string;
  argv: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  network: "none" | "host";
  limits: Partial<ContainerLimits>;
  onLine: (stream: "stdout" | "stderr", line: string) => void;
  signal?: AbortSignal;
}

export interface RunStepResult {
  exitCode: number;
  /** The last lines of output (stdout and stderr interleaved as read). */
  tail: string[];
}

const TAIL_LINES = 20;

export async function runStep(o: RunStepOptions): Promise<RunStepResult> {
  const id = `berth-build-${randomBytes(8).toString("hex")}`;
  const namespaces: NamespaceType[] = ["pid", "ipc", "uts", "mount"];
  if (o.network === "none") namespaces.push("network");
  const security = resolveSecurity(SecurityOptionsSchema.parse({}));
  const spec = buildSpec(
    withProcess({ args: o.argv, env: o.env, cwd: o.cwd, uid: o.uid, gid: o.gid }),
    withRootfs(o.rootfs),
    withHostname("berth-build"),
    withNamespaces(...namespaces),
    withRlimits(),
    withDefaultMounts(),
    withLimits(o.limits),
    withSecurity(security),
    withCgroupsPath(o.cgroups.cgroupsPath(id)),
    withAnnotations({ "io.berth.build": "true" }),
  );
  await mkdir(o.bundleDir, { recursive: true, mode: 0o700 });
  await writeFile(join(o.bundleDir, "config.json"), JSON.stringify(spec), { mode: 0o600 });

  const tail: string[] = [];
  const push = (stream: "stdout" | "stderr", line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    o.onLine(stream, line);
  };
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn(o.runc.path, [...o.runc.globalArgs, "run", "--bundle", o.bundleDir, id], {
        stdio: ["ignore", "pipe", "pipe"],
        signal: o.signal,
        killSignal: "SIGKILL",
      });
      for (const [name, s] of [
        ["stdout", child.stdout!],
        ["stderr", child.stderr!],
      ] as const) {
        let buf = "";
        s.setEncoding("utf8");
        s.on("data", (d: string) => {
          buf += d;
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            push(name, buf.slice(0, i).replace(/\r$/, ""));
            buf = buf.slice(i + 1);
          }
          if (buf.length > 64 * 1024) {
            push(name, buf);
            buf = "";
          }
        });
        s.on("end", () => {
          if (buf !== "") push(name, buf);
        });
      }
      child.on("error", reject);
      child.on("close", (code, sig) => resolve(code ?? 128 + signalNumber(sig)));
    });
    return { exitCode, tail };
  } finally {
    // `runc run` deletes the container when its process exits; make sure (killed runc…).
    await o.runc.delete(id, true).catch(() => undefined);
    await o.cgroups.removeContainer(id).catch(() => undefined);
  }
}

function signalNumber(sig: NodeJS.Signals | null): number {
  const n: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };
  return (sig && n[sig]) ?? 9;
}
