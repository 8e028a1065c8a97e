import { DomainError, SecurityOptionsSchema } from "@berth/core";
import { describe, expect, it } from "vitest";
import { architecturesFor, CAPABILITY_GATED_SYSCALLS, defaultSeccompProfile } from "./seccomp";
import {
  ALL_CAPABILITIES,
  capabilitiesFromMask,
  checkWorkingDir,
  resolveCapabilities,
  resolveSecurity,
  resolveTmpfs,
  withSecurity,
  withTmpfs,
} from "./security";
import { DEFAULT_CAPABILITIES, buildSpec, withDefaultMounts } from "./spec-opts";

function allowed(profile: ReturnType<typeof defaultSeccompProfile>): Set<string> {
  return new Set(
    (profile.syscalls ?? [])
      .filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args)
      .flatMap((r) => r.names),
  );
}

describe("defaultSeccompProfile", () => {
  it("denies with EPERM by default on the host's architectures", () => {
    const p = defaultSeccompProfile(DEFAULT_CAPABILITIES, "x64");
    expect(p.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    expect(architecturesFor("arm64")).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    expect(() => architecturesFor("mips")).toThrow(/mips/);
  });

  it("allows ordinary syscalls and none of the gated ones with the default capabilities", () => {
    const a = allowed(defaultSeccompProfile(DEFAULT_CAPABILITIES, "x64"));
    for (const n of ["read", "write", "openat", "execve", "wait4", "chown", "kill"])
      expect(a.has(n), n).toBe(true);
    for (const n of ["mount", "umount2", "unshare", "setns", "pivot_root", "ptrace", "reboot"])
      expect(a.has(n), n).toBe(false);
    for (const n of ["init_module", "finit_module", "delete_module", "settimeofday", "swapoff"])
      expect(a.has(n), n).toBe(false);
    // SYS_CHROOT is a default capability, so chroot is allowed.
    expect(a.has("chroot")).toBe(true);
  });

  it("opens each gated group only with its capability", () => {
    for (const [cap, names] of Object.entries(CAPABILITY_GATED_SYSCALLS)) {
      const a = allowed(defaultSeccompProfile([cap], "x64"));
      for (const n of names) expect(a.has(n), `${n} with ${cap}`).toBe(true);
      const without = allowed(defaultSeccompProfile([], "x64"));
      for (const n of names) expect(without.has(n), `${n} without ${cap}`).toBe(false);
    }
  });

  it("answers clone3 with ENOSYS and restricts clone's namespace flags without SYS_ADMIN", () => {
    const p = defaultSeccompProfile(DEFAULT_CAPABILITIES, "x64");
    expect(p.syscalls).toContainEqual({
      names: ["clone3"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 38,
    });
    const clone = p.syscalls!.find((r) => r.names.includes("clone"))!;
    expect(clone.args).toEqual([
      { index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" },
    ]);
    const admin = defaultSeccompProfile([...DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"], "x64");
    expect(admin.syscalls!.find((r) => r.names.includes("clone"))!.args).toBeUndefined();
  });
});

describe("resolveCapabilities (docker's rules)", () => {
  it("defaults to Docker's 14", () => {
    expect(resolveCapabilities([], [])).toEqual([...DEFAULT_CAPABILITIES]);
  });
  it("drops, then adds; names with or without CAP_", () => {
    const c = resolveCapabilities(["net_admin", "CAP_SYS_TIME"], ["CHOWN"]);
    expect(c).not.toContain("CAP_CHOWN");
    expect(c).toContain("CAP_NET_ADMIN");
    expect(c).toContain("CAP_SYS_TIME");
    expect(c).toHaveLength(15);
  });
  it("drop ALL keeps only the added ones; add ALL keeps all but the dropped", () => {
    expect(resolveCapabilities(["NET_BIND_SERVICE"], ["ALL"])).toEqual(["CAP_NET_BIND_SERVICE"]);
    const all = resolveCapabilities(["ALL"], ["SYS_ADMIN"]);
    expect(all).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(all).not.toContain("CAP_SYS_ADMIN");
  });
  it("reads the bounding set and refuses to add what the node lacks", () => {
    const known = capabilitiesFromMask("000001fffeffffff");
    expect(known).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(known).not.toContain("CAP_SYS_RESOURCE");
    expect(resolveCapabilities(["ALL"], [], known)).not.toContain("CAP_SYS_RESOURCE");
    expect(() => resolveCapabilities(["SYS_RESOURCE"], [], known)).toThrow(
      /cannot grant CAP_SYS_RESOURCE/,
    );
    expect(() => capabilitiesFromMask("zz")).toThrow(/mask/);
  });

  it("limits to what the kernel knows", () => {
    expect(resolveCapabilities(["ALL"], [], ALL_CAPABILITIES.slice(0, 3))).toEqual([
      "CAP_CHOWN",
      "CAP_DAC_OVERRIDE",
      "CAP_DAC_READ_SEARCH",
    ]);
  });
  it("rejects unknown capabilities, naming them", () => {
    const err = (() => {
      try {
        resolveCapabilities(["NET_ADMIN", "FLY"], ["WARP"]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).kind).toBe("invalid_input");
    expect((err as DomainError).message).toMatch(/CAP_FLY, CAP_WARP/);
  });
});

describe("withSecurity", () => {
  const sec = (o: object) => resolveSecurity(SecurityOptionsSchema.parse(o), { arch: "x64" });

  it("hardens by default: seccomp, no_new_privs, masked paths, device allowlist", () => {
    const s = buildSpec(withDefaultMounts(), withSecurity(sec({})));
    expect(s.process.noNewPrivileges).toBe(true);
    expect(s.process.capabilities.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(s.linux.seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(s.linux.maskedPaths).toContain("/proc/kcore");
    expect(s.linux.readonlyPaths).toContain("/proc/sys");
    expect(s.linux.resources?.devices?.[0]).toEqual({ allow: false, access: "rwm" });
    expect(s.linux.resources?.devices).toContainEqual({
      allow: true,
      type: "c",
      major: 1,
      minor: 3,
      access: "rwm",
    });
    expect(s.root.readonly).toBe(false);
    expect(s.mounts.find((m) => m.destination === "/sys")?.options).toContain("ro");
  });

  it("privileged: every capability, no seccomp, no masking, /sys rw, every device", () => {
    const s = buildSpec(withDefaultMounts(), withSecurity(sec({ privileged: true })));
    expect(s.process.capabilities.bounding).toEqual([...ALL_CAPABILITIES]);
    expect(s.linux.seccomp).toBeUndefined();
    expect(s.linux.maskedPaths).toEqual([]);
    expect(s.linux.readonlyPaths).toEqual([]);
    expect(s.linux.resources?.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(s.mounts.find((m) => m.destination === "/sys")?.options).toContain("rw");
  });

  it("honours noNewPrivileges=false, unconfined, custom profiles and readOnlyRootfs", () => {
    const a = buildSpec(
      withSecurity(sec({ noNewPrivileges: false, seccomp: "unconfined", readOnlyRootfs: true })),
    );
    expect(a.process.noNewPrivileges).toBe(false);
    expect(a.linux.seccomp).toBeUndefined();
    expect(a.root.readonly).toBe(true);
    const custom = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [] };
    expect(buildSpec(withSecurity(sec({ seccomp: custom }))).linux.seccomp).toEqual(custom);
  });

  it("puts the SYS_ADMIN syscalls in the filter when the capability is added", () => {
    const s = buildSpec(withSecurity(sec({ capAdd: ["SYS_ADMIN"] })));
    const names = s.linux.seccomp!.syscalls!.flatMap((r) => r.names);
    expect(names).toContain("mount");
  });
});

describe("tmpfs and working dir checks", () => {
  it("adds tmpfs mounts with docker's defaults first", () => {
    const t = resolveTmpfs([{ target: "/run/", options: "size=1m,exec" }]);
    expect(t).toEqual([
      { target: "/run", options: ["nosuid", "nodev", "noexec", "size=1m", "exec"] },
    ]);
    const s = buildSpec(withTmpfs(t));
    expect(s.mounts).toEqual([
      { destination: "/run", type: "tmpfs", source: "tmpfs", options: t[0]!.options },
    ]);
  });
  it("refuses escaping, root, reserved and duplicate targets", () => {
    for (const target of ["/../etc", "/a/../../b", "/", "/proc/x", "/sys", "/dev/shm", "rel"])
      expect(() => resolveTmpfs([{ target, options: "" }]), target).toThrow(DomainError);
    expect(() =>
      resolveTmpfs([
        { target: "/a", options: "" },
        { target: "/a/", options: "" },
      ]),
    ).toThrow(/twice/);
  });
  it("refuses working directories under /proc", () => {
    for (const d of ["/proc", "/proc/self/fd/3", "/proc/1/cwd", "//proc/self"])
      expect(() => checkWorkingDir(d), d).toThrow(/under \/proc/);
    expect(() => checkWorkingDir("/procfs")).not.toThrow();
  });
});
