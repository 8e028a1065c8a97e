import { describe, expect, it } from "vitest";
import {
  DEFAULT_CAPABILITIES,
  buildSpec,
  withCapabilities,
  withCgroupsPath,
  withDefaultMounts,
  withHostname,
  withLimits,
  withMaskedPaths,
  withNamespaces,
  withProcess,
  withRlimits,
  withRootfs,
} from "./spec-opts";

describe("buildSpec", () => {
  it("starts from a safe base", () => {
    const s = buildSpec();
    expect(s.ociVersion).toBe("1.0.2");
    expect(s.process.noNewPrivileges).toBe(true);
    expect(s.process.capabilities.bounding).toEqual([]);
    expect(s.linux.resources?.devices).toEqual([{ allow: false, access: "rwm" }]);
  });

  it("composes the options into a complete container spec", () => {
    const s = buildSpec(
      withProcess({ args: ["sh", "-c", "echo hi"], env: ["PATH=/bin"], cwd: "/tmp" }),
      withNamespaces("pid", "network", "uts", "mount", "ipc"),
      withCapabilities(),
      withLimits({ memoryBytes: 64 * 1024 * 1024, pidsLimit: 50 }),
      withCgroupsPath("berth/abc"),
      withDefaultMounts(),
      withMaskedPaths(),
      withHostname("web-1"),
      withRlimits(),
      withRootfs("/var/lib/berth/containers/x/rootfs"),
    );
    expect(s.process.args).toEqual(["sh", "-c", "echo hi"]);
    expect(s.process.env).toEqual(["PATH=/bin"]);
    expect(s.process.cwd).toBe("/tmp");
    expect(s.linux.namespaces.map((n) => n.type)).toEqual([
      "pid",
      "network",
      "uts",
      "mount",
      "ipc",
    ]);
    expect(s.process.capabilities.bounding).toHaveLength(14);
    expect(s.process.capabilities.effective).toEqual([...DEFAULT_CAPABILITIES]);
    expect(s.process.capabilities.inheritable).toBeUndefined();
    expect(s.linux.resources?.memory).toEqual({ limit: 67108864, swap: 2 * 67108864 });
    expect(s.linux.resources?.pids).toEqual({ limit: 50 });
    expect(s.linux.cgroupsPath).toBe("berth/abc");
    expect(s.mounts.map((m) => m.destination)).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/dev/shm",
      "/dev/mqueue",
      "/sys",
      "/sys/fs/cgroup",
    ]);
    expect(s.mounts.find((m) => m.destination === "/sys")?.options).toContain("ro");
    expect(s.mounts.find((m) => m.destination === "/sys/fs/cgroup")?.options).toContain("ro");
    expect(s.linux.maskedPaths).toContain("/proc/kcore");
    expect(s.linux.readonlyPaths).toContain("/proc/sysrq-trigger");
    expect(s.hostname).toBe("web-1");
    expect(s.process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }]);
    expect(s.root).toEqual({ path: "/var/lib/berth/containers/x/rootfs", readonly: false });
  });

  it("does not duplicate namespaces or mounts when applied twice", () => {
    const s = buildSpec(
      withNamespaces("pid"),
      withNamespaces("pid", "ipc"),
      withDefaultMounts(),
      withDefaultMounts(),
    );
    expect(s.linux.namespaces).toEqual([{ type: "pid" }, { type: "ipc" }]);
    expect(s.mounts).toHaveLength(7);
  });

  it("leaves limits unset when none are asked for", () => {
    const s = buildSpec(withLimits({}));
    expect(s.linux.resources?.memory).toBeUndefined();
    expect(s.linux.resources?.pids).toBeUndefined();
  });

  it("refuses an empty command", () => {
    expect(() => buildSpec(withProcess({ args: [], env: [] }))).toThrow(/args/);
  });
});
