import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCgroupCounters } from "./usage-counters";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-usage-counters-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function tree(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

describe("readCgroupCounters", () => {
  it("reads a cgroup v2 group (cpu.stat usage_usec, memory.current/max, io.stat)", () => {
    tree({
      "c/cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
      "c/memory.current": "104857600\n",
      "c/memory.max": "max\n",
      "c/pids.current": "3\n",
      "c/io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n",
    });
    expect(readCgroupCounters("x", { "": join(dir, "c") })).toEqual({
      cpuNs: 2.5e9,
      memBytes: 104857600,
      memLimitBytes: null,
      pids: 3,
      blkReadBytes: 4097,
      blkWriteBytes: 8194,
    });
  });

  it("reads cgroup v1 controllers (hybrid too); an unlimited memory limit is null", () => {
    tree({
      "cpuacct/c/cpuacct.usage": "123456789\n",
      "memory/c/memory.usage_in_bytes": "2097152\n",
      "memory/c/memory.limit_in_bytes": "9223372036854771712\n",
      "pids/c/pids.current": "1\n",
      "blkio/c/blkio.throttle.io_service_bytes_recursive":
        "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Async 0\n8:0 Total 300\nTotal 300\n",
    });
    // A hybrid host: v1 controllers, plus a controller-less cgroup2 group (its cpu.stat is
    // not the container's whole story: memory lives in v1).
    tree({ "unified/c/cpu.stat": "usage_usec 1\n" });
    const paths = {
      ...Object.fromEntries(
        ["cpuacct", "memory", "pids", "blkio"].map((c) => [c, join(dir, c, "c")]),
      ),
      "": join(dir, "unified", "c"),
    };
    expect(readCgroupCounters("x", paths)).toEqual({
      cpuNs: 123456789,
      memBytes: 2097152,
      memLimitBytes: null,
      pids: 1,
      blkReadBytes: 100,
      blkWriteBytes: 200,
    });
    writeFileSync(join(dir, "memory/c/memory.limit_in_bytes"), "67108864\n");
    expect(readCgroupCounters("x", paths).memLimitBytes).toBe(67108864);
  });

  it("a container without a cgroup is not_found", () => {
    expect(() => readCgroupCounters("abc", { "": join(dir, "gone") })).toThrow(/has no cgroup/);
  });
});
