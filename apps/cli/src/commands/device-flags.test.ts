import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { parseDeviceFlag } from "./device-flags";
import { defineRunCommand, toRunInput, type RunFlags } from "./run-args";

/** Parses a `berth run …` command line with the real option definitions, as the program does. */
function parseRun(argv: string[]) {
  let captured: { image: string; command: string[]; flags: RunFlags } | null = null;
  const program = new Command("berth").enablePositionalOptions().exitOverride();
  defineRunCommand(program.command("run"))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .action((image: string, command: string[], flags: RunFlags) => {
      captured = { image, command, flags };
    });
  program.parse(["run", ...argv], { from: "user" });
  const c = captured as { image: string; command: string[]; flags: RunFlags } | null;
  if (!c) throw new Error("the run action was not called");
  return toRunInput(c.image, c.command, c.flags);
}

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
