import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { parseDeviceFlag } from "./device-flags";
import { parseRun } from "../testing/parse-run";

describe("berth run --device", () => {
  it("parses docker's three forms", () => {
    expect(parseDeviceFlag("/dev/fuse")).toEqual({ hostPath: "/dev/fuse" });
    expect(parseDeviceFlag("/dev/sdb:/dev/xvdb")).toEqual({
      hostPath: "/dev/sdb",
      containerPath: "/dev/xvdb",
    });
    expect(parseDeviceFlag("/dev/sdb:r")).toEqual({ hostPath: "/dev/sdb", permissions: "r" });
    expect(parseDeviceFlag("/dev/null:/dev/mynull:rw")).toEqual({
      hostPath: "/dev/null",
      containerPath: "/dev/mynull",
      permissions: "rw",
    });
  });

  it("puts repeated --device flags into the spec with rwm by default", () => {
    const input = parseRun([
      "--device",
      "/dev/null:/dev/mynull",
      "--device",
      "/dev/zero:/dev/z:r",
      "busybox",
    ]);
    expect(input.spec.devices).toEqual([
      { hostPath: "/dev/null", containerPath: "/dev/mynull", permissions: "rwm" },
      { hostPath: "/dev/zero", containerPath: "/dev/z", permissions: "r" },
    ]);
    expect(parseRun(["busybox"]).spec.devices).toBeUndefined();
  });

  it("refuses bad permissions, bad shapes and paths outside /dev", () => {
    expect(() => parseDeviceFlag("/dev/null:/dev/x:rwx")).toThrow(UsageError);
    expect(() => parseDeviceFlag("/dev/null:/dev/x:rr")).toThrow(/invalid permissions/);
    expect(() => parseDeviceFlag("/dev/null::r")).toThrow(/bad format/);
    expect(() => parseDeviceFlag("a:b:c:d")).toThrow(/bad format/);
    expect(() => parseRun(["--device", "/etc/passwd", "busybox"])).toThrow(CliError);
    expect(() => parseRun(["--device", "/etc/passwd", "busybox"])).toThrow(
      /--device: device paths must be absolute paths under \/dev\//,
    );
    expect(() => parseRun(["--device", "/dev/../etc/passwd", "busybox"])).toThrow(
      /must not contain \.\./,
    );
    expect(() => parseRun(["--device", "/dev/null:relative", "busybox"])).toThrow(
      /container device paths must be absolute/,
    );
  });
});
