import { describe, expect, it } from "vitest";
import { parseMountInfo } from "../sys/mount";
import { V1Driver, V2Driver } from "./cgroup-driver";
import { layoutFrom, parseProcCgroup } from "./detect";

const HYBRID_PROC = `9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
2:cpu,cpuacct:/
0::/
`;
const HYBRID_MOUNTS = parseMountInfo(
  [
    "30 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
    "31 25 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
    "32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
    "33 25 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
    "34 25 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
  ].join("\n"),
);

describe("parseProcCgroup", () => {
  it("parses v1 and v2 lines", () => {
    expect(parseProcCgroup(HYBRID_PROC)).toEqual([
      { hierarchyId: 9, controllers: ["name=systemd"], path: "/" },
      { hierarchyId: 8, controllers: ["pids"], path: "/" },
      { hierarchyId: 4, controllers: ["memory"], path: "/process_api/abc" },
      { hierarchyId: 2, controllers: ["cpu", "cpuacct"], path: "/" },
      { hierarchyId: 0, controllers: [], path: "/" },
    ]);
  });
});

describe("V1Driver on a hybrid layout", () => {
  const layout = layoutFrom(HYBRID_PROC, HYBRID_MOUNTS, "hybrid");
  const d = new V1Driver(layout);
  const id = "a".repeat(64);

  it("nests container groups under the agent's own group in every hierarchy", () => {
    expect(layout.version).toBe(1);
    expect(d.parent).toBe("/process_api/abc");
    expect(d.cgroupsPath(id)).toBe(`berth/${id}`);
    expect(d.containerPaths(id)).toEqual({
      "name=systemd": `/sys/fs/cgroup/systemd/berth/${id}`,
      pids: `/sys/fs/cgroup/pids/berth/${id}`,
      memory: `/sys/fs/cgroup/memory/process_api/abc/berth/${id}`,
      cpu: `/sys/fs/cgroup/cpu,cpuacct/berth/${id}`,
      cpuacct: `/sys/fs/cgroup/cpu,cpuacct/berth/${id}`,
      "": `/sys/fs/cgroup/unified/berth/${id}`,
    });
  });
});

describe("V2Driver on a unified layout", () => {
  const layout = layoutFrom(
    "0::/system.slice/berth-agent.service\n",
    parseMountInfo("25 1 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate"),
    "unified",
  );
  const d = new V2Driver(layout);
  it("uses an absolute path under the agent's own group", () => {
    expect(layout.version).toBe(2);
    expect(d.cgroupsPath("x".repeat(64))).toBe(
      `/system.slice/berth-agent.service/berth/${"x".repeat(64)}`,
    );
    expect(d.containerPaths("id")).toEqual({
      "": "/sys/fs/cgroup/system.slice/berth-agent.service/berth/id",
    });
  });
});
