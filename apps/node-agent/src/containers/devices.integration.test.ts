/**
 * Root integration tests of `--device` on the real kernel (runc + conmon, cgroup v1 devices
 * controller here): the node appears where asked, the cgroup rule enforces the permissions,
 * and paths that are not devices are refused before anything is created.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import {
  allLogs,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitExited,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "--device integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

describe.skipIf(!ENABLED)("--device on runc + conmon (root)", () => {
  const stateDir = tempStateDir("berth-device-it-", ENABLED);
  let svc: ContainerService;

  // A char device node with no driver behind it, made for this file and removed after it.
  const fakeDevice = `/dev/berth-it-${process.pid}`;

  beforeAll(async () => {
    execFileSync("mknod", ["-m", "0666", fakeDevice, "c", "241", "7"]);
    svc = await ContainerService.create({ stateDir });
  });

  afterAll(async () => {
    rmSync(fakeDevice, { force: true });
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  /** Runs `script` in busybox with `devices`; answers the exit code and the output. */
  async function runScript(script: string, devices?: string[][]) {
    const p = runParams("dev", {
      command: ["sh", "-c", script],
      ...(devices
        ? {
            devices: devices.map(([hostPath, containerPath, permissions]) => ({
              hostPath: hostPath!,
              containerPath,
              permissions,
            })),
          }
        : {}),
    });
    await svc.run(p);
    const st = await waitExited(svc, p.containerId);
    // Rebuild the text: the monitor splits a line written in pieces into partial entries.
    const out = (await allLogs(svc, p.containerId))
      .map((l) => l.line + (l.full ? "\n" : ""))
      .join("");
    return { exitCode: st.exitCode, out };
  }

  it("--device /dev/null:/dev/mynull makes a writable char device 1:3 in the container", async () => {
    const r = await runScript(
      "test -c /dev/mynull && echo hello > /dev/mynull && ls -l /dev/mynull && echo written",
      [["/dev/null", "/dev/mynull"]],
    );
    expect(r.out).toMatch(/^crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .*\/dev\/mynull$/m);
    expect(r.out).toContain("written");
    expect(r.exitCode).toBe(0);
  });

  it("a container without the flag has no /dev/mynull", async () => {
    const r = await runScript("test -e /dev/mynull && echo present || echo absent");
    expect(r.out.trim()).toBe("absent");
  });

  it("the cgroup rule enforces the permissions: r allows opening for reading only", async () => {
    // runc 1.1 appends its own allowlist (null, zero, full, random, urandom, tty, console,
    // ptmx, pts, net/tun: rwm) after the spec's rules, so those numbers cannot be narrowed.
    // A node on a free major (241, "local use"; no driver) shows the cgroup's verdict alone:
    // allowed opens fail in the driver lookup (ENXIO), denied ones in the cgroup (EPERM).
    const script = "(exec 3</dev/fake) 2>&1; (exec 3>/dev/fake) 2>&1; true";
    const readOnly = await runScript(script, [[fakeDevice, "/dev/fake", "r"]]);
    const [read, write] = readOnly.out.trim().split("\n");
    expect(read).toMatch(/No such device or address/);
    expect(write).toMatch(/Operation not permitted/);
    const readWrite = await runScript(script, [[fakeDevice, "/dev/fake", "rw"]]);
    expect(readWrite.out.trim().split("\n")).toEqual([
      expect.stringMatching(/No such device or address/),
      expect.stringMatching(/No such device or address/),
    ]);
  });

  it("refuses paths that are not devices, before creating anything", async () => {
    expect(() =>
      runParams("dev", { command: ["true"], devices: [{ hostPath: "/etc/passwd" }] }),
    ).toThrow(/device paths must be absolute paths under \/dev\//);
    const before = readdirSync(join(stateDir, "containers")).length;
    // A directory in /dev.
    await expect(
      svc.run(
        runParams("dev", {
          command: ["true"],
          devices: [{ hostPath: "/dev/shm", containerPath: "/dev/x" }],
        }),
      ),
    ).rejects.toThrow(/device \/dev\/shm is not a character or block device/);
    // A symlink out of /dev (/dev/stdin -> /proc/self/fd/0) is clamped to /dev, not followed.
    await expect(
      svc.run(runParams("dev", { command: ["true"], devices: [{ hostPath: "/dev/stdin" }] })),
    ).rejects.toThrow(/device \/dev\/stdin: no such device on this host/);
    expect(readdirSync(join(stateDir, "containers"))).toHaveLength(before);
  });
});
