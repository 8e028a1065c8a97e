import { describe, expect, it } from "vitest";
import { hierarchiesFrom } from "./cgroups";

const mountInfo = [
  "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755",
  "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
  "33 30 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu",
  "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
  "35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd",
  "36 30 0:32 /ns /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids",
].join("\n");

describe("the caller's cgroup hierarchies", () => {
  it("maps /proc/self/cgroup lines to directories under their mounts", () => {
    const procCgroup = [
      "9:name=systemd:/",
      "4:memory:/process_api/abc",
      "3:pids:/ns/x",
      "1:cpu:/",
      "0::/",
      "7:blkio:/", // no mount: skipped
    ].join("\n");
    expect(hierarchiesFrom(procCgroup, mountInfo)).toEqual([
      { version: 1, controllers: ["name=systemd"], ownDir: "/sys/fs/cgroup/systemd" },
      { version: 1, controllers: ["memory"], ownDir: "/sys/fs/cgroup/memory/process_api/abc" },
      { version: 1, controllers: ["pids"], ownDir: "/sys/fs/cgroup/pids/x" },
      { version: 1, controllers: ["cpu"], ownDir: "/sys/fs/cgroup/cpu" },
      { version: 2, controllers: [], ownDir: "/sys/fs/cgroup/unified" },
    ]);
  });
});
