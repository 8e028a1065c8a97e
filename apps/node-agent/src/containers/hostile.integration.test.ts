/**
 * Hostile containers on the real kernel (runc + conmon, busybox image): each test runs a
 * container that tries to break out of its defaults and checks the kernel said no. Every
 * container is force-removed in afterEach; afterAll checks no mount or cgroup is left behind.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DomainError, type ContainerSpecInput, type ContainerStatus } from "@berth/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MASKED_PATHS } from "../runtime/spec/spec-opts";
import { run as exec } from "../sys/exec";
import { ContainerService } from "./container-service";
import {
  logText,
  mountsUnder,
  rootOrCi,
  runParams,
  tempStateDir,
  waitExited,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "hostile-container integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const stateDir = tempStateDir("berth-hostile-", ENABLED);
let svc: ContainerService;
const started: string[] = [];
const cgroupDirs = new Set<string>();
const logs: string[] = [];

async function start(
  command: string[],
  spec: Partial<ContainerSpecInput> = {},
): Promise<ContainerStatus> {
  const p = runParams("hostile", { command, ...spec });
  started.push(p.containerId);
  const st = await svc.run(p);
  for (const d of Object.values((await svc.readLimits(st.id)).paths)) cgroupDirs.add(d);
  return st;
}

/** Runs a command to completion; returns its exit status and combined output. */
async function runToExit(
  command: string[],
  spec: Partial<ContainerSpecInput> = {},
): Promise<{ status: ContainerStatus; out: string }> {
  const st = await start(command, spec);
  const status = await waitExited(svc, st.id);
  return { status, out: await logText(svc, st.id) };
}

const sh = (script: string) => ["sh", "-c", script];

describe.skipIf(!ENABLED)("hostile containers (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({
      stateDir,
      log: (msg, extra) => logs.push(`${msg} ${JSON.stringify(extra ?? {})}`),
    });
  }, 60_000);

  afterEach(async () => {
    const ids = started.splice(0);
    const results = await Promise.allSettled(
      ids.map((id) => svc.remove({ containerId: id, force: true })),
    );
    for (const r of results) if (r.status === "rejected") throw r.reason;
  }, 60_000);

  afterAll(async () => {
    try {
      if (svc) {
        for (const id of started) await svc.remove({ containerId: id, force: true });
        await svc.close();
        expect(svc.list()).toEqual([]);
      }
      expect(mountsUnder(stateDir)).toEqual([]);
      for (const d of cgroupDirs) expect(existsSync(d), d).toBe(false);
    } finally {
      for (const m of mountsUnder(stateDir).reverse())
        await exec(["umount", "-l", m]).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);

  it("sees only its own processes", async () => {
    const { status, out } = await runToExit(
      sh("for p in /proc/[0-9]*; do echo pid=${p#/proc/}; done; ps -o pid,comm; echo done"),
    );
    expect(status.exitCode).toBe(0);
    const pids = out.split("\n").filter((l) => l.startsWith("pid="));
    // The loop is a shell builtin: the only process while it runs is the shell (pid 1).
    expect(pids).toEqual(["pid=1"]);
    const ps = out
      .split("\n")
      .filter((l) => /^\s*\d+\s/.test(l))
      .map((l) => l.trim().split(/\s+/)[1]);
    expect(ps.sort()).toEqual(["ps", "sh"]);
  });

  it("cannot mount, unshare or load kernel modules", async () => {
    const { status, out } = await runToExit(
      sh(
        [
          "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>&1; echo mount=$?",
          "grep -c ' /tmp/m ' /proc/mounts; true",
          "unshare -m true 2>&1; echo unshare=$?",
          "head -c 4096 /dev/zero > /tmp/m.ko; insmod /tmp/m.ko 2>&1; echo insmod=$?",
          // This VM's kernel has no module support (no /proc/sys/kernel/modprobe).
          "if [ -e /proc/sys/kernel/modprobe ]; then echo /tmp/evil > /proc/sys/kernel/modprobe 2>&1; echo modprobe=$?; else echo modprobe=absent; fi",
        ].join("; "),
      ),
    );
    expect(status.exitCode).toBe(0);
    expect(out).toMatch(/mount=[1-9]/);
    expect(out).toMatch(/mount: .*(permission denied|Operation not permitted)/);
    expect(out).toMatch(/^0$/m);
    expect(out).toMatch(/unshare=[1-9]/);
    expect(out).toMatch(/unshare: .*Operation not permitted/);
    expect(out).toMatch(/insmod=[1-9]/);
    expect(out).toMatch(/insmod: .*Operation not permitted/);
    expect(out).toMatch(/modprobe=([1-9]|absent)/);
    if (existsSync("/proc/sys/kernel/modprobe"))
      expect(readFileSync("/proc/sys/kernel/modprobe", "utf8").trim()).not.toBe("/tmp/evil");
  });

  it("cannot write /proc/sys or /sys, and the masked paths are empty", async () => {
    const before = readFileSync("/proc/sys/kernel/core_pattern", "utf8");
    const masked = DEFAULT_MASKED_PATHS.filter((m) => existsSync(m));
    expect(masked.length).toBeGreaterThan(0);
    const { out } = await runToExit(
      sh(
        [
          // Writes the value it already has: a failure is the mount's, not the content's.
          "cat /proc/sys/kernel/core_pattern > /tmp/cp",
          "cat /tmp/cp > /proc/sys/kernel/core_pattern 2>&1; echo procsys=$?",
          "cat /sys/kernel/mm/transparent_hugepage/enabled | grep -o '\\[.*\\]' | tr -d '[]' > /tmp/thp",
          "cat /tmp/thp > /sys/kernel/mm/transparent_hugepage/enabled 2>&1; echo sys=$?",
          "touch /sys/x 2>&1; echo systouch=$?",
          // Masked paths present on this kernel read as empty (files) or hold nothing (dirs).
          ...masked.map(
            (m) =>
              `echo masked ${m} $(cat ${m} 2>/dev/null | wc -c) $(ls -A ${m} 2>/dev/null | wc -l)`,
          ),
          "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
        ].join("; "),
      ),
    );
    expect(out).toMatch(/procsys=[1-9]/);
    expect(out).toMatch(/sys=[1-9]/);
    expect(out).toMatch(/systouch=[1-9]/);
    expect(out).toMatch(/Read-only file system/);
    for (const m of masked) {
      const line = out.split("\n").find((l) => l.startsWith(`masked ${m} `));
      expect(line, m).toBeDefined();
      const [bytes, entries] = line!.split(" ").slice(2).map(Number);
      // A masked dir is an empty read-only tmpfs (ls shows 0); a masked file is /dev/null.
      expect(bytes === 0 || entries === 0, line).toBe(true);
      expect(entries === 0 || statSync(m).isFile(), line).toBe(true);
    }
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/Seccomp:\s+2/);
    expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8")).toBe(before);
  });

  it("may use the standard devices but no other device node it creates", async () => {
    const { status, out } = await runToExit(
      sh(
        [
          "head -c 8 /dev/urandom | wc -c",
          "echo x > /dev/null; echo null=$?",
          // MKNOD is a default capability: the node can be made, the device cgroup refuses it.
          "mknod /tmp/sda b 8 0; echo mknod=$?",
          "head -c 1 /tmp/sda 2>&1; echo blk=$?",
          "mknod /tmp/mem c 1 1; head -c 1 /tmp/mem 2>&1; echo mem=$?",
        ].join("; "),
      ),
    );
    expect(status.exitCode).toBe(0);
    expect(out).toMatch(/^8$/m);
    expect(out).toMatch(/null=0/);
    expect(out).toMatch(/mknod=0/);
    expect(out).toMatch(/blk=1/);
    expect(out).toMatch(/mem=1/);
    expect(out).toMatch(/Operation not permitted/);
  });

  it("chowns by default, but not with capDrop CHOWN", async () => {
    const script = "touch /tmp/x && chown nobody /tmp/x 2>&1; echo chown=$?; ls -ln /tmp/x";
    const ok = await runToExit(sh(script));
    expect(ok.out).toMatch(/chown=0/);
    expect(ok.out).toMatch(/^\S+\s+\d+\s+65534\s/m);
    const denied = await runToExit(sh(script), { security: { capDrop: ["CHOWN"] } });
    expect(denied.out).toMatch(/chown=1/);
    expect(denied.out).toMatch(/Operation not permitted/);
  });

  it("contains a fork bomb at its pids limit; the host is fine", async () => {
    // PID 1 is `sleep` (the shell forks the bomb once, then execs), so the container lives on
    // whatever the bomb does; the bomb forks sleepers until the kernel refuses.
    const st = await start(sh("(while true; do sleep 1000 & done) 2>/dev/null & exec sleep 1000"), {
      limits: { pidsLimit: 32 },
    });
    const pidsDir = (await svc.readLimits(st.id)).paths["pids"]!;
    expect(readFileSync(join(pidsDir, "pids.max"), "utf8").trim()).toBe("32");
    const current = () => Number(readFileSync(join(pidsDir, "pids.current"), "utf8"));
    // The kernel refuses forks past the limit (pids.events counts them).
    await waitFor("forks to be refused", () => {
      const ev = readFileSync(join(pidsDir, "pids.events"), "utf8");
      const refused = Number(/max (\d+)/.exec(ev)?.[1] ?? 0);
      return refused > 0 ? refused : undefined;
    });
    const n = current();
    expect(n).toBeLessThanOrEqual(32);
    // The sleepers it did fork are still there: the limit, not a crash, stopped it.
    expect(n).toBeGreaterThanOrEqual(16);
    expect(svc.inspect(st.id).state).toBe("running");
    // The host still forks.
    const { stdout } = await exec(["sh", "-c", "echo host-ok"]);
    expect(stdout.trim()).toBe("host-ok");
    await svc.remove({ containerId: st.id, force: true });
    expect(existsSync(pidsDir)).toBe(false);
  }, 90_000);

  it("reports an OOM-killed memory hog as oomKilled", async () => {
    const { status } = await runToExit(["tail", "/dev/zero"], {
      limits: { memoryBytes: 16 * 1024 * 1024 },
    });
    expect(status.exitCode).toBe(137);
    expect(status.oomKilled).toBe(true);
  }, 90_000);

  it("a container that exits normally is not oomKilled", async () => {
    const { status } = await runToExit(["true"], { limits: { memoryBytes: 16 * 1024 * 1024 } });
    expect(status.exitCode).toBe(0);
    expect(status.oomKilled).toBe(false);
  });

  it("refuses a /proc working directory before creating anything", async () => {
    const before = readdirSync(join(stateDir, "containers")).sort();
    for (const workingDir of ["/proc/self/fd/3", "/proc/1/cwd", "/proc"]) {
      const err = await start(["true"], { workingDir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).kind).toBe("invalid_input");
      expect((err as DomainError).message).toMatch(/under \/proc/);
    }
    expect(readdirSync(join(stateDir, "containers")).sort()).toEqual(before);
    expect(mountsUnder(join(stateDir, "containers"))).toEqual([]);
  });

  it("refuses unknown capabilities and bad tmpfs targets before creating anything", async () => {
    const before = readdirSync(join(stateDir, "containers")).sort();
    const caps = await start(["true"], { security: { capAdd: ["WARP_DRIVE"] } }).catch(
      (e: unknown) => e,
    );
    expect((caps as DomainError).kind).toBe("invalid_input");
    expect((caps as DomainError).message).toMatch(/CAP_WARP_DRIVE/);
    const tmpfs = await start(["true"], { tmpfs: [{ target: "/proc/sys" }] }).catch(
      (e: unknown) => e,
    );
    expect((tmpfs as DomainError).kind).toBe("invalid_input");
    expect(readdirSync(join(stateDir, "containers")).sort()).toEqual(before);
  });

  it("does not leak file descriptors into the container or conmon", async () => {
    const st = await start(["sleep", "1000"]);
    const pidFd = readdirSync(`/proc/${st.pid}/fd`).sort();
    expect(pidFd).toEqual(["0", "1", "2"]);
    const rec = JSON.parse(readFileSync(svc.pathsOf(st.id).stateFile, "utf8")) as {
      conmonPid: number;
    };
    const targets = readdirSync(`/proc/${rec.conmonPid}/fd`).map((fd) =>
      readlinkSync(`/proc/${rec.conmonPid}/fd/${fd}`),
    );
    // conmon's own: /dev/null stdio, pipes/sockets/eventfds to the container, its log and
    // files of this container. Nothing of the agent's (no vitest files, no other state).
    for (const t of targets)
      expect(
        t === "/dev/null" ||
          /^(pipe|socket|anon_inode):/.test(t) ||
          t.startsWith(svc.pathsOf(st.id).dir) ||
          t.startsWith("/sys/fs/cgroup/") ||
          t.startsWith(join(stateDir, "exits")) ||
          t.startsWith(join(stateDir, "sockets")),
        t,
      ).toBe(true);
  });

  it("cannot see another container's processes or files", async () => {
    const a = await start(sh("echo s3cret > /tmp/a-secret; exec sleep 1000"));
    await waitFor("a's file", () =>
      existsSync(join(svc.pathsOf(a.id).upper, "tmp", "a-secret")) ? true : undefined,
    );
    const { out } = await runToExit(
      sh(
        "ls /tmp; echo files=$(ls /tmp | wc -l); for p in /proc/[0-9]*; do cat $p/cmdline; echo; done",
      ),
    );
    expect(out).toMatch(/files=0/);
    expect(out).not.toMatch(/a-secret|s3cret/);
    expect(out).not.toMatch(/sleep1000/);
  });

  it("read-only rootfs with a writable, noexec tmpfs", async () => {
    const { out } = await runToExit(
      sh(
        [
          "touch /x 2>&1; echo root=$?",
          "touch /run/x; echo run=$?",
          "cp /bin/busybox /run/bb; /run/bb true 2>&1; echo exec=$?",
          "grep ' /run ' /proc/mounts",
        ].join("; "),
      ),
      { security: { readOnlyRootfs: true }, tmpfs: [{ target: "/run", options: "size=8m" }] },
    );
    expect(out).toMatch(/root=1/);
    expect(out).toMatch(/Read-only file system/);
    expect(out).toMatch(/run=0/);
    expect(out).toMatch(/exec=126/);
    expect(out).toMatch(/ \/run tmpfs .*nosuid.*nodev.*noexec/);
  });

  it("noNewPrivileges=false is honoured", async () => {
    const { out } = await runToExit(sh("grep NoNewPrivs /proc/self/status"), {
      security: { noNewPrivileges: false },
    });
    expect(out).toMatch(/NoNewPrivs:\s+0/);
  });

  it("seccomp blocks syscalls the kernel would allow; unconfined and custom profiles apply", async () => {
    const script =
      "head -c 4096 /dev/zero > /tmp/s; swapoff /tmp/s 2>&1; echo swapoff=$?; " +
      "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>&1; echo mount=$?; grep -c ' /tmp/m ' /proc/mounts; true";
    // SYS_ADMIN lets the kernel run swapoff (EINVAL: not a swap file); the default profile
    // does not list it, so it fails with EPERM. mount is gated on SYS_ADMIN: allowed.
    const confined = await runToExit(sh(script), { security: { capAdd: ["SYS_ADMIN"] } });
    expect(confined.out).toMatch(/swapoff: .*Operation not permitted/);
    expect(confined.out).toMatch(/mount=0/);
    const unconfined = await runToExit(sh(script), {
      security: { capAdd: ["SYS_ADMIN"], seccomp: "unconfined" },
    });
    expect(unconfined.out).toMatch(/swapoff=1/);
    expect(unconfined.out).not.toMatch(/swapoff: .*Operation not permitted/);
    expect(unconfined.out).toMatch(/mount=0/);
    expect(unconfined.out).toMatch(/^1$/m);
    // A user profile is passed through as is: this one only denies mount.
    const custom = await runToExit(sh(script), {
      security: {
        capAdd: ["SYS_ADMIN"],
        seccomp: {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["mount"], action: "SCMP_ACT_ERRNO" }],
        },
      },
    });
    expect(custom.out).toMatch(/mount=[1-9]/);
    expect(custom.out).toMatch(/^0$/m);
    // Without SYS_ADMIN the default profile and the kernel both refuse mount.
    const plain = await runToExit(sh(script));
    expect(plain.out).toMatch(/mount=[1-9]/);
  }, 60_000);

  it("privileged containers can mount and see every capability (a flagged choice)", async () => {
    const { out } = await runToExit(
      sh(
        "mkdir /tmp/m; mount -t tmpfs none /tmp/m; echo mount=$?; grep -E '^(CapEff|Seccomp):' /proc/self/status",
      ),
      { security: { privileged: true } },
    );
    expect(out).toMatch(/mount=0/);
    // Every capability the agent itself holds.
    const bnd = /^CapBnd:\s*(\S+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
    expect(/CapEff:\s+(\S+)/.exec(out)?.[1]).toBe(bnd);
    expect(out).toMatch(/Seccomp:\s+0/);
    expect(logs.some((l) => l.includes("FLAGGED: running a privileged container"))).toBe(true);
  });
});
