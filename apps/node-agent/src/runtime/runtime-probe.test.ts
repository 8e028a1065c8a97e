import { describe, expect, it } from "vitest";
import { DomainError } from "@berth/core";
import { assertUsable, layoutObstacle, probeRuntime, runtimeNameOf } from "./runtime-probe";

describe("runtime probe", () => {
  it("crun is refused on a hybrid cgroup layout only; runc never", () => {
    expect(layoutObstacle("crun", "hybrid")).toMatch(/hybrid mode not supported/);
    expect(layoutObstacle("crun", "unified")).toBeUndefined();
    expect(layoutObstacle("crun", "legacy")).toBeUndefined();
    for (const mode of ["legacy", "hybrid", "unified"] as const) {
      expect(layoutObstacle("runc", mode)).toBeUndefined();
    }
  });

  it("names a binary by its basename", () => {
    expect(runtimeNameOf("/usr/bin/crun")).toBe("crun");
    expect(runtimeNameOf("/usr/local/sbin/runc")).toBe("runc");
    expect(runtimeNameOf("/opt/crun-1.8/bin/runc")).toBe("runc");
  });

  it("reports a missing binary as unusable with a reason", async () => {
    const info = await probeRuntime("crun", "/nonexistent/berth/crun", "unified");
    expect(info).toEqual({
      name: "crun",
      version: "",
      path: "/nonexistent/berth/crun",
      usable: false,
      reason: "/nonexistent/berth/crun is not installed",
    });
    expect(() => assertUsable(info)).toThrow(DomainError);
    expect(() => assertUsable(info)).toThrow(/runtime crun .* cannot be used on this host/);
  });

  it("reports a binary that does not answer --version as unusable", async () => {
    // /bin/false exists and is executable but exits 1.
    const info = await probeRuntime("runc", "/bin/false", "legacy");
    expect(info.usable).toBe(false);
    expect(info.reason).toMatch(/--version failed \(exit code 1\)/);
  });
});
