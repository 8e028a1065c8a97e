/**
 * Root integration tests of container limits on the real kernel (runc 1.1.5, cgroup v1 here):
 * every limit is read back from the container's own cgroup files beneath the agent's group,
 * and enforced where that is cheap to prove (memory hog killed, fork bomb capped, CPU quota
 * measured). Every container is force-removed in afterEach, even when a test fails.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type ContainerLimits } from "@berth/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { driverFor, type CgroupDriver } from "../cgroups/cgroup-driver";
import { detectCgroups } from "../cgroups/detect";
import { ContainerService } from "./container-service";
import {
  allLogs as readLogs,
  logText as readText,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams as busyboxParams,
  tempStateDir,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "limits integration tests need root (runc, cgroups, mounts)",
  process.env.CI === "true",
);

const MiB = 1024 * 1024;
const stateDir = tempStateDir("berth-limits-it-", ENABLED);
let svc: ContainerService;
let driver: CgroupDriver;
const started: string[] = [];

function runParams(command: string[], limits: Partial<ContainerLimits>) {
  const p = busyboxParams("lim", { command, limits });
  started.push(p.containerId);
  return p;
}

const allLogs = (id: string) => readLogs(svc, id);
const logText = (id: string) => readText(svc, id);

/** A cgroup file of the container, in a v1 hierarchy beneath the agent's own group. */
function cg(id: string, controller: string, file: string): string {
  const dir = driver.containerPaths(id)[controller];
  if (!dir) throw new Error(`no ${controller} hierarchy`);
  return readFileSync(join(dir, file), "utf8").trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ENABLED)("container limits on runc + cgroup v1 (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
    driver = driverFor(await detectCgroups());
    expect(driver.layout.version).toBe(1);
  });

  afterEach(async () => {
    for (const id of started.splice(0))
      await svc.remove({ containerId: id, force: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  it("writes memory, reservation, swap, shares, pids and cpuset files beneath the agent's group", async () => {
    const p = runParams(["sleep", "1000"], {
      memoryBytes: 64 * MiB,
      memoryReservationBytes: 32 * MiB,
      memorySwapBytes: 96 * MiB,
      cpuShares: 512,
      pidsLimit: 33,
      cpusetCpus: "0",
      cpusetMems: "0",
    });
    const st = await svc.run(p);
    expect(st.state).toBe("running");
    const memDir = driver.containerPaths(p.containerId)["memory"]!;
    // nested under the agent's own memory group, never elsewhere
    const own = driver.layout.hierarchies.find((h) => h.controllers.includes("memory"))!.ownDir;
    expect(memDir).toBe(join(own, "berth", p.containerId));
    expect(readFileSync(join(memDir, "cgroup.procs"), "utf8").split("\n")).toContain(
      String(st.pid),
    );
    expect(cg(p.containerId, "memory", "memory.limit_in_bytes")).toBe(String(64 * MiB));
    expect(cg(p.containerId, "memory", "memory.soft_limit_in_bytes")).toBe(String(32 * MiB));
    expect(cg(p.containerId, "memory", "memory.memsw.limit_in_bytes")).toBe(String(96 * MiB));
    expect(cg(p.containerId, "cpu", "cpu.shares")).toBe("512");
    expect(cg(p.containerId, "pids", "pids.max")).toBe("33");
    expect(cg(p.containerId, "cpuset", "cpuset.cpus")).toBe("0");
    expect(cg(p.containerId, "cpuset", "cpuset.mems")).toBe("0");
    expect(await svc.appliedLimits(p.containerId)).toMatchObject({
      memoryBytes: 64 * MiB,
      memoryReservationBytes: 32 * MiB,
      memorySwapBytes: 96 * MiB,
      cpuShares: 512,
      cpuQuotaUs: null,
      pidsLimit: 33,
      cpusetCpus: "0",
      cpusetMems: "0",
    });
  });

  it("defaults memory+swap to twice the memory (Docker), -1 to unlimited swap", async () => {
    const a = runParams(["sleep", "1000"], { memoryBytes: 48 * MiB });
    const b = runParams(["sleep", "1000"], { memoryBytes: 48 * MiB, memorySwapBytes: -1 });
    await svc.run(a);
    await svc.run(b);
    expect(cg(a.containerId, "memory", "memory.memsw.limit_in_bytes")).toBe(String(96 * MiB));
    expect((await svc.appliedLimits(b.containerId)).memorySwapBytes).toBeNull();
    expect(Number(cg(b.containerId, "memory", "memory.memsw.limit_in_bytes"))).toBeGreaterThan(
      2 ** 62,
    );
  });

  it("kills a memory hog at the memory limit", async () => {
    const p = runParams(
      ["sh", "-c", "x=$(head -c 300m /dev/zero | tr '\\0' a); echo survived ${#x}"],
      { memoryBytes: 16 * MiB, memorySwapBytes: 16 * MiB },
    );
    await svc.run(p);
    const done = await waitFor(
      "the hog to be killed",
      () => {
        const s = svc.inspect(p.containerId);
        return s.state === "exited" ? s : undefined;
      },
      60_000,
    );
    expect(await logText(p.containerId)).not.toMatch(/survived/);
    expect(done.exitCode === 137 || done.oomKilled).toBe(true);
    expect(done.exitCode).not.toBe(0);
  });

  it("caps the number of processes at pidsLimit", async () => {
    const p = runParams(
      [
        "sh",
        "-c",
        // the subshell dies when fork fails; `exec` needs no new process
        "(i=0; while [ $i -lt 30 ]; do sleep 1000 & i=$((i+1)); done); echo spawned; exec sleep 1000",
      ],
      { pidsLimit: 8 },
    );
    await svc.run(p);
    await waitFor("the spawn loop to end", async () =>
      (await logText(p.containerId)).includes("spawned") ? true : undefined,
    );
    const current = Number(cg(p.containerId, "pids", "pids.current"));
    expect(current).toBeLessThanOrEqual(8);
    expect(current).toBeGreaterThanOrEqual(7);
    const errs = (await allLogs(p.containerId)).filter((l) => l.stream === "stderr");
    expect(errs.length).toBeGreaterThan(0);
    expect(Number(cg(p.containerId, "pids", "pids.events").split(/\s+/)[1])).toBeGreaterThan(0);
  });

  it("--cpus 0.5 sets quota 50000/100000 and holds a busy loop to about half a CPU", async () => {
    const p = runParams(["sh", "-c", "while :; do :; done"], { nanoCpus: 500_000_000 });
    await svc.run(p);
    expect(cg(p.containerId, "cpu", "cpu.cfs_quota_us")).toBe("50000");
    expect(cg(p.containerId, "cpu", "cpu.cfs_period_us")).toBe("100000");
    await sleep(300);
    const a = await svc.stats(p.containerId);
    const t0 = process.hrtime.bigint();
    await sleep(2000);
    const b = await svc.stats(p.containerId);
    const wallNs = Number(process.hrtime.bigint() - t0);
    const share = (b.cpu.totalNs - a.cpu.totalNs) / wallNs;
    // generous: the quota allows 0.5; a shared VM may give less, never much more
    expect(share).toBeLessThanOrEqual(0.6);
    expect(share).toBeGreaterThan(0.05);
  });

  it("pins to a cpuset: the process sees only those CPUs", async () => {
    const host = await driver.hostCpusets();
    const cpu = String(host.cpus[host.cpus.length - 1]);
    const p = runParams(["sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 1000"], {
      cpusetCpus: cpu,
    });
    await svc.run(p);
    const line = await waitFor("Cpus_allowed_list", async () =>
      (await allLogs(p.containerId)).find((l) => l.line.startsWith("Cpus_allowed_list")),
    );
    expect(line.line.split(/\s+/)[1]).toBe(cpu);
    expect(cg(p.containerId, "cpuset", "cpuset.cpus")).toBe(cpu);
  });

  it("block IO weight: applied where the kernel has it, skipped otherwise", async () => {
    const p = runParams(["sleep", "1000"], { blkioWeight: 300 });
    await svc.run(p);
    const applied = (await svc.appliedLimits(p.containerId)).blkioWeight;
    const blkioDir = driver.containerPaths(p.containerId)["blkio"]!;
    if (await driver.supportsBlkioWeight()) {
      expect(applied).toBe(300);
    } else {
      // this VM's kernel has neither blkio.weight nor blkio.bfq.weight: nothing to write
      expect(existsSync(join(blkioDir, "blkio.weight"))).toBe(false);
      expect(existsSync(join(blkioDir, "blkio.bfq.weight"))).toBe(false);
      expect(applied).toBeNull();
    }
    expect(svc.inspect(p.containerId).state).toBe("running");
  });

  it("refuses inconsistent limits and CPUs the host lacks, creating nothing", async () => {
    const before = readdirSync(join(stateDir, "containers")).length;
    const bad: Partial<ContainerLimits>[] = [
      { cpusetCpus: "0-4095" },
      { memoryBytes: 64 * MiB, memorySwapBytes: 32 * MiB },
      { memorySwapBytes: 64 * MiB },
      { memoryBytes: 32 * MiB, memoryReservationBytes: 64 * MiB },
      { cpusetMems: "63" },
    ];
    for (const limits of bad) {
      const p = runParams(["true"], limits);
      await expect(svc.run(p)).rejects.toMatchObject({ kind: "invalid_input" });
      expect(() => svc.inspect(p.containerId)).toThrow(/not found/);
      expect(existsSync(svc.pathsOf(p.containerId).dir)).toBe(false);
    }
    expect(readdirSync(join(stateDir, "containers")).length).toBe(before);
  });

  it("updates a running container's memory and pids limits and stores them", async () => {
    const p = runParams(["sleep", "1000"], { memoryBytes: 64 * MiB, pidsLimit: 20 });
    await svc.run(p);
    expect(cg(p.containerId, "memory", "memory.limit_in_bytes")).toBe(String(64 * MiB));
    const st = await svc.update({
      containerId: p.containerId,
      limits: { memoryBytes: 128 * MiB, pidsLimit: 50, nanoCpus: 250_000_000 },
    });
    expect(st.state).toBe("running");
    expect(cg(p.containerId, "memory", "memory.limit_in_bytes")).toBe(String(128 * MiB));
    expect(cg(p.containerId, "memory", "memory.memsw.limit_in_bytes")).toBe(String(256 * MiB));
    expect(cg(p.containerId, "pids", "pids.max")).toBe("50");
    expect(cg(p.containerId, "cpu", "cpu.cfs_quota_us")).toBe("25000");
    const rec = JSON.parse(readFileSync(svc.pathsOf(p.containerId).stateFile, "utf8")) as {
      spec: { limits: ContainerLimits };
    };
    expect(rec.spec.limits).toMatchObject({
      memoryBytes: 128 * MiB,
      pidsLimit: 50,
      nanoCpus: 250_000_000,
    });
    // a bad update changes nothing, on disk or in the kernel
    await expect(
      svc.update({
        containerId: p.containerId,
        limits: { memoryBytes: 64 * MiB, memorySwapBytes: 32 * MiB },
      }),
    ).rejects.toMatchObject({ kind: "invalid_input" });
    expect(cg(p.containerId, "memory", "memory.limit_in_bytes")).toBe(String(128 * MiB));
    expect(
      (
        JSON.parse(readFileSync(svc.pathsOf(p.containerId).stateFile, "utf8")) as {
          spec: { limits: ContainerLimits };
        }
      ).spec.limits.memoryBytes,
    ).toBe(128 * MiB);
  });

  it("refuses to update or sample a container that is not running", async () => {
    const p = runParams(["true"], {});
    await svc.run(p);
    await waitFor("exit", () => (svc.inspect(p.containerId).state === "exited" ? 1 : undefined));
    await expect(
      svc.update({ containerId: p.containerId, limits: { pidsLimit: 5 } }),
    ).rejects.toMatchObject({ kind: "invalid_state" });
    await expect(svc.stats(p.containerId)).rejects.toMatchObject({ kind: "invalid_state" });
  });

  it("stats: CPU time grows for a busy container, memory and pids are counted", async () => {
    const p = runParams(["sh", "-c", "while :; do :; done"], {
      memoryBytes: 64 * MiB,
      pidsLimit: 10,
    });
    await svc.run(p);
    const a = await svc.stats(p.containerId);
    await sleep(1000);
    const b = await svc.stats(p.containerId);
    expect(b.cpu.totalNs).toBeGreaterThan(a.cpu.totalNs);
    expect(b.cpu.systemNs).toBeGreaterThan(a.cpu.systemNs);
    expect(b.takenAt).toBeGreaterThan(a.takenAt);
    expect(b.cpu.onlineCpus).toBeGreaterThan(0);
    expect(b.memory.usageBytes).toBeGreaterThan(0);
    expect(b.memory.limitBytes).toBe(64 * MiB);
    expect(b.pids.current).toBeGreaterThanOrEqual(1);
    expect(b.pids.limit).toBe(10);
  });

  it("freezes and thaws a container through the v1 freezer", async () => {
    const p = runParams(["sh", "-c", "while :; do :; done"], {});
    await svc.run(p);
    await driver.freeze(p.containerId);
    try {
      expect(cg(p.containerId, "freezer", "freezer.state")).toBe("FROZEN");
      const a = (await driver.readStats(p.containerId)).cpuTotalNs;
      await sleep(500);
      expect((await driver.readStats(p.containerId)).cpuTotalNs).toBe(a);
    } finally {
      await driver.thaw(p.containerId);
    }
    expect(cg(p.containerId, "freezer", "freezer.state")).toBe("THAWED");
    const a = (await driver.readStats(p.containerId)).cpuTotalNs;
    await sleep(300);
    expect((await driver.readStats(p.containerId)).cpuTotalNs).toBeGreaterThan(a);
  });
});
