/**
 * V2Driver's file handling, tested against a tree of plain files in a temp dir that mimics
 * /sys/fs/cgroup on a unified host (this machine is cgroup v1 hybrid, so no real cgroup2 group
 * with controllers can be made here). The V1 driver is tested for real in
 * containers/limits.integration.test.ts. The file contents are copied from a cgroup2 kernel.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OciResources } from "../runtime/spec/oci-spec";
import {
  parseFlatKeyed,
  parseV1IoServiceBytes,
  parseV2IoStat,
  V2Driver,
  type ResourceUpdater,
} from "./cgroup-driver";
import { layoutFrom } from "./detect";
import { parseMountInfo } from "../sys/mount";

const ID = "c".repeat(64);
let root: string;
let dir: string;
let driver: V2Driver;
const updates: { id: string; resources: OciResources }[] = [];
const updater: ResourceUpdater = {
  update: async (id, resources) => {
    updates.push({ id, resources });
  },
};

function write(files: Record<string, string>, at = dir) {
  for (const [f, v] of Object.entries(files)) writeFileSync(join(at, f), v);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "berth-fake-cgroup2-"));
  const layout = layoutFrom(
    "0::/agent.slice\n",
    parseMountInfo(`25 1 0:24 / ${root} rw - cgroup2 cgroup2 rw,nsdelegate`),
    "unified",
  );
  driver = new V2Driver(layout, updater);
  dir = join(root, "agent.slice", "berth", ID);
  mkdirSync(dir, { recursive: true });
  updates.length = 0;
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("V2Driver against a fake cgroup2 tree (temp dir, not the kernel)", () => {
  it("reads every limit back, converting v2 files to Docker's figures", async () => {
    write({
      "memory.max": "67108864\n",
      "memory.low": "33554432\n",
      "memory.swap.max": "67108864\n",
      "cpu.weight": "20\n", // runc's mapping of shares 512
      "cpu.max": "50000 100000\n",
      "cpuset.cpus": "0-1\n",
      "cpuset.mems": "0\n",
      "pids.max": "42\n",
      "io.weight": "default 300\n",
    });
    expect(await driver.readLimits(ID)).toEqual({
      memoryBytes: 64 * 2 ** 20,
      memoryReservationBytes: 32 * 2 ** 20,
      memorySwapBytes: 128 * 2 ** 20,
      cpuShares: 500, // weight 20 is shares 499.9…–526: the round trip is approximate
      cpuQuotaUs: 50000,
      cpuPeriodUs: 100000,
      cpusetCpus: "0-1",
      cpusetMems: "0",
      pidsLimit: 42,
      blkioWeight: 300,
    });
  });

  it("reports unlimited and absent files as null", async () => {
    write({
      "memory.max": "max\n",
      "memory.low": "0\n",
      "memory.swap.max": "max\n",
      "cpu.max": "max 100000\n",
      "pids.max": "max\n",
      "cpuset.cpus": "\n",
    });
    expect(await driver.readLimits(ID)).toEqual({
      memoryBytes: null,
      memoryReservationBytes: null,
      memorySwapBytes: null,
      cpuShares: null,
      cpuQuotaUs: null,
      cpuPeriodUs: 100000,
      cpusetCpus: null,
      cpusetMems: null,
      pidsLimit: null,
      blkioWeight: null,
    });
  });

  it("reads usage from cpu.stat, memory.current/stat, pids and io.stat", async () => {
    write({
      "cpu.stat": "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
      "memory.current": "10485760\n",
      "memory.max": "67108864\n",
      "memory.stat": "anon 4096000\nfile 2048000\nkernel 100\n",
      "pids.current": "3\n",
      "pids.max": "42\n",
      "io.stat":
        "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n" +
        "8:16 rbytes=1000 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
    });
    expect(await driver.readStats(ID)).toEqual({
      cpuTotalNs: 1_500_000_000,
      memoryUsageBytes: 10485760,
      memoryLimitBytes: 67108864,
      memoryCacheBytes: 2048000,
      pidsCurrent: 3,
      pidsLimit: 42,
      blkioReadBytes: 5096,
      blkioWriteBytes: 8192,
    });
  });

  it("stats of a container without a group is not_found", async () => {
    rmSync(dir, { recursive: true });
    await expect(driver.readStats(ID)).rejects.toMatchObject({ kind: "not_found" });
  });

  it("freeze writes cgroup.freeze and waits for cgroup.events to say frozen", async () => {
    write({ "cgroup.events": "populated 1\nfrozen 1\n" });
    await driver.freeze(ID);
    expect(readFileSync(join(dir, "cgroup.freeze"), "utf8")).toBe("1");
    write({ "cgroup.events": "populated 1\nfrozen 0\n" });
    await driver.thaw(ID);
    expect(readFileSync(join(dir, "cgroup.freeze"), "utf8")).toBe("0");
  });

  it("freeze times out (a clear error) when the kernel never reports frozen", async () => {
    write({ "cgroup.events": "populated 1\nfrozen 0\n" });
    await expect(driver.freeze(ID)).rejects.toMatchObject({ kind: "timeout" });
  }, 15_000);

  it("update goes through the ResourceUpdater (runc update), not file writes", async () => {
    await driver.update(ID, { pids: { limit: 9 } });
    expect(updates).toEqual([{ id: ID, resources: { pids: { limit: 9 } } }]);
  });

  it("host cpusets come from the agent's group, io weight from its controllers", async () => {
    const own = join(root, "agent.slice");
    write({ "cpuset.cpus.effective": "0-3\n", "cpuset.mems.effective": "0\n" }, own);
    write({ "cgroup.controllers": "cpuset cpu memory pids\n" }, own);
    expect(await driver.hostCpusets()).toEqual({ cpus: [0, 1, 2, 3], mems: [0] });
    expect(await driver.supportsBlkioWeight()).toBe(false);
    write({ "cgroup.controllers": "cpuset cpu io memory pids\n" }, own);
    expect(await driver.supportsBlkioWeight()).toBe(true);
  });
});

describe("cgroup file parsers", () => {
  it("parses flat keyed files", () => {
    expect(parseFlatKeyed("cache 10\ntotal_cache 20\n")).toEqual(
      new Map([
        ["cache", 10],
        ["total_cache", 20],
      ]),
    );
  });
  it("sums v1 io_service_bytes by direction, ignoring the Total line", () => {
    expect(
      parseV1IoServiceBytes(
        "8:0 Read 100\n8:0 Write 50\n8:0 Sync 150\n8:0 Total 150\n8:16 Read 1\nTotal 151\n",
      ),
    ).toEqual({ read: 101, write: 50 });
  });
  it("sums v2 io.stat", () => {
    expect(parseV2IoStat("8:0 rbytes=1 wbytes=2\n259:0 rbytes=3 wbytes=4\n")).toEqual({
      read: 4,
      write: 6,
    });
  });
});
