import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { parseRun as parseRunWith } from "../testing/parse-run";
import { parseVolumeFlag } from "./volume-ns-flags";
import { volumeInspectView, volumeRows } from "./volumes.command";

const parseRun = (argv: string[]) => parseRunWith(argv, { topLevelVersion: true });

describe("berth run -v / --pid / --ipc / --uts / --userns", () => {
  it("turns -v into bind mounts and named volumes, :ro read-only", () => {
    const input = parseRun([
      "-v",
      "/srv/data:/data:ro",
      "--volume",
      "cache:/var/cache",
      "-v",
      "/srv/logs:/logs:rw",
      "busybox",
      "true",
    ]);
    expect(input.spec.mounts).toEqual([
      { type: "bind", source: "/srv/data", target: "/data", readOnly: true },
      { type: "volume", source: "cache", target: "/var/cache", readOnly: false },
      { type: "bind", source: "/srv/logs", target: "/logs", readOnly: false },
    ]);
    expect(input.spec.namespaces).toBeUndefined();
  });

  it("refuses anonymous volumes, unknown options, .. and relative targets with the flag named", () => {
    expect(() => parseVolumeFlag("/data")).toThrow(UsageError);
    expect(() => parseVolumeFlag("/data")).toThrow(/anonymous volumes are not supported/);
    expect(() => parseVolumeFlag("/a:/b:z")).toThrow(/unknown option "z"/);
    expect(() => parseRun(["-v", "/srv/../etc:/x", "busybox"])).toThrow(
      /-v, --volume: bind mount sources must not contain \.\./,
    );
    expect(() => parseRun(["-v", "data:rel", "busybox"])).toThrow(CliError);
    expect(() => parseRun(["-v", "data:rel", "busybox"])).toThrow(/mount targets must be absolute/);
    expect(() => parseRun(["-v", "bad name:/x", "busybox"])).toThrow(/volume names use/);
  });

  it("maps --pid, --ipc, --uts and --userns to the spec", () => {
    const input = parseRun(["--pid", "host", "--ipc=shareable", "--uts", "host", "busybox"]);
    expect(input.spec.namespaces).toEqual({ pid: "host", ipc: "shareable", uts: "host" });
    expect(() => parseRun(["--pid", "container:abc", "busybox"])).toThrow(
      /invalid argument "container:abc" for "--pid" flag/,
    );
    expect(() => parseRun(["--ipc", "none", "busybox"])).toThrow(/--ipc/);
    expect(() => parseRun(["--uts", "x", "busybox"])).toThrow(/--uts/);
    expect(parseRun(["--userns=auto", "busybox"]).spec.userns).toBe("auto");
    expect(parseRun(["--userns", "host", "busybox"]).spec.userns).toBe("host");
    expect(parseRun(["busybox"]).spec.userns).toBeUndefined();
    expect(() => parseRun(["--userns", "keep-id", "busybox"])).toThrow(
      /invalid argument "keep-id" for "--userns" flag: expected auto or host/,
    );
  });
});

describe("berth volume output", () => {
  const v = {
    nodeId: "n1",
    nodeName: "node-1",
    name: "data",
    mountpoint: "/var/lib/berth/volumes/data/_data",
    createdAt: Date.parse("2026-01-02T03:04:05Z"),
  };
  it("ls rows and inspect look like docker's", () => {
    expect(volumeRows([v])).toEqual([["node-1", "local", "data"]]);
    expect(volumeInspectView(v)).toEqual({
      CreatedAt: "2026-01-02T03:04:05.000Z",
      Driver: "local",
      Labels: {},
      Mountpoint: v.mountpoint,
      Name: "data",
      Options: {},
      Scope: "local",
      Node: "node-1",
    });
  });
});
