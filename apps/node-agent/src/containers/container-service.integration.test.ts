/**
 * Root integration tests of the engine on the real kernel: runc + conmon, overlayfs, namespaces
 * and cgroups. Each test uses a temp state dir; afterAll removes every container, mount and dir.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import {
  newContainerId,
  type CommandParamsInput,
  CommandSchemas,
  type EventName,
} from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import {
  allLogs,
  logText,
  mounted,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams as busyboxParams,
  tempStateDir,
  waitExited,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "container-service integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const stateDir = tempStateDir("berth-it-", ENABLED);
let svc: ContainerService;
const events: { name: EventName; id: string; exitCode?: number | null }[] = [];

function params(p: CommandParamsInput<"container.run">) {
  return CommandSchemas["container.run"].params.parse(p);
}

function runParams(command: string[], extra: Partial<CommandParamsInput<"container.run">> = {}) {
  return busyboxParams("it", { command }, extra);
}

describe.skipIf(!ENABLED)("ContainerService on runc + conmon (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
    svc.onEvent((name, data) =>
      events.push({ name, id: data.id, exitCode: "exitCode" in data ? data.exitCode : undefined }),
    );
  });

  afterAll(async () => {
    await removeAllAndClose(svc);
    // the service removes the empty `berth` groups it caused once no container is left
    const own = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => /^\d+:memory:/.test(l))!
      .split(":")[2]!;
    expect(existsSync(join("/sys/fs/cgroup/memory", own, "berth"))).toBe(false);
    removeStateDir(stateDir);
  });

  it("runs `echo hi`, logs `hi` and records exit code 0", async () => {
    const p = runParams(["echo", "hi"]);
    const st = await svc.run(p);
    expect(st.id).toBe(p.containerId);
    expect(["running", "exited"]).toContain(st.state);
    const done = await waitExited(svc, p.containerId);
    expect(done.exitCode).toBe(0);
    expect(done.finishedAt).not.toBeNull();
    const logs = await allLogs(svc, p.containerId);
    expect(logs).toEqual([expect.objectContaining({ stream: "stdout", line: "hi", full: true })]);
    expect(events).toContainEqual({ name: "container.started", id: p.containerId, exitCode: null });
    expect(events).toContainEqual({ name: "container.exited", id: p.containerId, exitCode: 0 });
    // idempotent per containerId
    expect((await svc.run(p)).state).toBe("exited");
  });

  it("records a non-zero exit code and stderr", async () => {
    const p = runParams(["sh", "-c", "echo oops >&2; exit 3"]);
    await svc.run(p);
    expect((await waitExited(svc, p.containerId)).exitCode).toBe(3);
    expect(await allLogs(svc, p.containerId)).toEqual([
      expect.objectContaining({ stream: "stderr", line: "oops" }),
    ]);
  });

  it("puts the container in its own pid, net, uts, mnt and ipc namespaces with loopback up", async () => {
    const p = runParams(["sh", "-c", "cat /sys/class/net/lo/operstate; hostname; sleep 1000"], {
      spec: {
        image: "busybox",
        command: [
          "sh",
          "-c",
          "cat /sys/class/net/lo/operstate; cat /proc/sys/kernel/hostname; sleep 1000",
        ],
        hostname: "it-host",
      },
    });
    const st = await svc.run(p);
    expect(st.state).toBe("running");
    expect(st.pid).toBeGreaterThan(0);
    for (const ns of ["pid", "net", "uts", "mnt", "ipc"]) {
      expect(readlinkSync(`/proc/${st.pid}/ns/${ns}`)).not.toBe(
        readlinkSync(`/proc/self/ns/${ns}`),
      );
    }
    const logs = await waitFor("two log lines", async () => {
      const l = await allLogs(svc, p.containerId);
      return l.length >= 2 ? l : undefined;
    });
    // lo is up ("unknown" is how loopback reports up)
    expect(logs.map((l) => l.line)).toEqual(["unknown", "it-host"]);
    await svc.remove({ containerId: p.containerId, force: true });
  });

  it("lets a container open sockets (seccomp allows socket(2), as Docker's profile does)", async () => {
    const p = runParams(["ip", "link", "show", "lo"]);
    await svc.run(p);
    const st = await waitExited(svc, p.containerId);
    const text = (await allLogs(svc, p.containerId)).map((l) => l.line).join("\n");
    expect(text).not.toContain("Operation not permitted");
    expect(text).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(st.exitCode).toBe(0);
  });

  it("applies memory and pids limits in cgroups nested under the agent's own cgroup", async () => {
    const p = runParams(["sleep", "1000"], {
      spec: {
        image: "busybox",
        command: ["sleep", "1000"],
        limits: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 42 },
      },
    });
    const st = await svc.run(p);
    const own = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => /^\d+:memory:/.test(l))!
      .split(":")[2]!;
    const memDir = join("/sys/fs/cgroup/memory", own, "berth", p.containerId);
    expect(readFileSync(join(memDir, "memory.limit_in_bytes"), "utf8").trim()).toBe(
      String(64 * 1024 * 1024),
    );
    expect(readFileSync(join(memDir, "cgroup.procs"), "utf8").split("\n")).toContain(
      String(st.pid),
    );
    const limits = await svc.readLimits(p.containerId);
    expect(limits.memoryBytes).toBe(64 * 1024 * 1024);
    expect(limits.pidsMax).toBe(42);
    expect(readFileSync(join(limits.paths["pids"]!, "pids.max"), "utf8").trim()).toBe("42");
    await svc.remove({ containerId: p.containerId, force: true });
    expect(existsSync(memDir)).toBe(false);
  });

  it("remove discards the rw layer, the mount and the cgroup", async () => {
    const p = runParams(["sh", "-c", "echo data > /root/written; sleep 1000"]);
    await svc.run(p);
    const paths = svc.pathsOf(p.containerId);
    await waitFor("the file written in the container", () =>
      existsSync(join(paths.upper, "root/written")) ? true : undefined,
    );
    expect(mounted(paths.rootfs)).toBe(true);
    expect(readFileSync(join(paths.rootfs, "root/written"), "utf8")).toBe("data\n");
    const limits = await svc.readLimits(p.containerId);
    await expect(svc.remove({ containerId: p.containerId, force: false })).rejects.toMatchObject({
      kind: "invalid_state",
    });
    expect(await svc.remove({ containerId: p.containerId, force: true })).toEqual({
      removed: true,
    });
    expect(mounted(paths.rootfs)).toBe(false);
    expect(existsSync(paths.upper)).toBe(false);
    expect(existsSync(paths.dir)).toBe(false);
    expect(existsSync(limits.paths["memory"]!)).toBe(false);
    expect(existsSync(limits.paths["pids"]!)).toBe(false);
    expect(() => svc.inspect(p.containerId)).toThrow(/not found/);
    expect(await svc.remove({ containerId: p.containerId, force: false })).toEqual({
      removed: false,
    });
    expect(events).toContainEqual({
      name: "container.removed",
      id: p.containerId,
      exitCode: undefined,
    });
    // a new container from the same image does not see the old rw layer
    const q = runParams(["sh", "-c", "test -e /root/written && echo present || echo absent"]);
    await svc.run(q);
    await waitExited(svc, q.containerId);
    expect((await allLogs(svc, q.containerId)).map((l) => l.line)).toEqual(["absent"]);
  });

  it("refuses a missing executable clearly and leaves nothing behind", async () => {
    const p = runParams(["no-such-binary"]);
    const err = await svc.run(p).catch((e: unknown) => e);
    expect(err).toMatchObject({
      kind: "invalid_input",
      message: 'executable file not found in $PATH: "no-such-binary"',
    });
    const paths = svc.pathsOf(p.containerId);
    expect(existsSync(paths.dir)).toBe(false);
    expect(mounted(paths.rootfs)).toBe(false);
    const own = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => /^\d+:memory:/.test(l))!
      .split(":")[2]!;
    expect(existsSync(join("/sys/fs/cgroup/memory", own, "berth", p.containerId))).toBe(false);
    expect(() => svc.inspect(p.containerId)).toThrow(/not found/);
  });

  it("refuses an unknown image with not_found", async () => {
    const p = params({
      containerId: newContainerId(),
      name: "it-noimage",
      spec: { image: "alpine:3.20", command: ["true"] },
    });
    await expect(svc.run(p)).rejects.toMatchObject({
      kind: "not_found",
      message: 'image "alpine:3.20" not found on this node',
    });
    expect(existsSync(svc.pathsOf(p.containerId).dir)).toBe(false);
  });

  it("stops a `sleep 1000` container: SIGKILL after the grace period", async () => {
    // sh as pid 1 ignores SIGTERM (no handler), so the grace period ends in SIGKILL.
    const p = runParams(["sleep", "1000"]);
    await svc.run(p);
    const t0 = Date.now();
    const st = await svc.stop({ containerId: p.containerId, timeoutSeconds: 1 });
    const took = Date.now() - t0;
    expect(st.state).toBe("exited");
    expect(st.exitCode).toBe(137);
    expect(took).toBeLessThan(5000);
    // stopping an exited container returns its status
    expect((await svc.stop({ containerId: p.containerId, timeoutSeconds: 1 })).exitCode).toBe(137);
  });

  it("stops a container that handles SIGTERM within the grace period", async () => {
    const p = runParams([
      "sh",
      "-c",
      "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    await svc.run(p);
    // pid 1 ignores a SIGTERM it has no handler for: stop only once the trap is installed (a
    // fixed sleep can lose that race on a loaded machine: SIGKILL after the grace period, 137).
    await waitFor("the TERM trap", async () =>
      (await logText(svc, p.containerId)).includes("ready") ? true : undefined,
    );
    const t0 = Date.now();
    const st = await svc.stop({ containerId: p.containerId, timeoutSeconds: 10 });
    expect(st.exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("follows logs until the container exits", async () => {
    const p = runParams(["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done"]);
    await svc.run(p);
    const got: string[] = [];
    await svc.logs(
      { containerId: p.containerId, follow: true },
      new AbortController().signal,
      (l) => got.push(...l.map((x) => x.line)),
    );
    expect(got).toEqual(["line1", "line2", "line3"]);
    expect(svc.inspect(p.containerId).state).toBe("exited");
    const tail: string[] = [];
    await svc.logs(
      { containerId: p.containerId, follow: false, tail: 1 },
      new AbortController().signal,
      (l) => tail.push(...l.map((x) => x.line)),
    );
    expect(tail).toEqual(["line3"]);
  });

  it("auto-removes a container after it exits", async () => {
    const p = runParams(["true"], { autoRemove: true });
    await svc.run(p);
    await waitFor("auto-removal", () =>
      svc.list().some((c) => c.id === p.containerId) ? undefined : true,
    );
    expect(existsSync(svc.pathsOf(p.containerId).dir)).toBe(false);
  });

  it("runs many containers at once", async () => {
    const ps = Array.from({ length: 8 }, (_, i) => runParams(["sh", "-c", `echo c${i}`]));
    await Promise.all(ps.map((p) => svc.run(p)));
    for (const [i, p] of ps.entries()) {
      expect((await waitExited(svc, p.containerId)).exitCode).toBe(0);
      expect((await allLogs(svc, p.containerId)).map((l) => l.line)).toEqual([`c${i}`]);
    }
  });

  it("records an exit that happened while the agent was down, and adopts running containers", async () => {
    const p = runParams(["sh", "-c", "sleep 1; exit 7"]);
    const keep = runParams(["sleep", "1000"]);
    await svc.run(p);
    const kept = await svc.run(keep);
    await svc.close();
    // The exit happens while the agent is down: conmon writes its exit file (waited for, not a
    // fixed sleep, which a loaded machine can outlast).
    const exitFile = svc.pathsOf(p.containerId).exitFile;
    await waitFor("the exit while the agent is down", () =>
      existsSync(exitFile) ? true : undefined,
    );
    svc = await ContainerService.create({ stateDir });
    const st = svc.inspect(p.containerId);
    expect(st.state).toBe("exited");
    expect(st.exitCode).toBe(7);
    const adopted = svc.inspect(keep.containerId);
    expect(adopted.state).toBe("running");
    expect(adopted.pid).toBe(kept.pid);
    const stopped = await svc.stop({ containerId: keep.containerId, timeoutSeconds: 0 });
    expect(stopped.exitCode).toBe(137);
  });

  it("reports node facts", async () => {
    const f = await svc.facts();
    expect(f.runtime).toMatchObject({ name: "runc", path: "/usr/sbin/runc" });
    expect(f.runtime.version).toMatch(/^1\./);
    expect(f.monitor).toMatchObject({ name: "conmon" });
    expect(f.cgroup.parent).toBe(
      readFileSync("/proc/self/cgroup", "utf8")
        .split("\n")
        .find((l) => /^\d+:memory:/.test(l))!
        .split(":")[2],
    );
    expect(await svc.listImages()).toEqual([expect.objectContaining({ ref: "busybox:latest" })]);
  });

  it("adoption releases an exited container the agent left mounted (died before the release)", async () => {
    const p = runParams(["true"]);
    await svc.run(p);
    await waitExited(svc, p.containerId);
    const paths = svc.pathsOf(p.containerId);
    expect(mounted(paths.rootfs)).toBe(false);
    // What a crash between saving the exit and unmounting leaves: the rootfs still mounted.
    execFileSync("mount", ["-t", "tmpfs", "left-behind", paths.rootfs]);
    expect(mounted(paths.rootfs)).toBe(true);
    await svc.close();
    svc = await ContainerService.create({ stateDir });
    expect(mounted(paths.rootfs)).toBe(false);
    expect(svc.inspect(p.containerId).state).toBe("exited");
    await svc.remove({ containerId: p.containerId, force: false });
  });
});
