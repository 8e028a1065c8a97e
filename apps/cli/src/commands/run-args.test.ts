import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { defineRunCommand, toRunInput, type RunFlags } from "./run-args";

/** Parses a `berth run …` command line with the real option definitions, as the program does. */
function parseRun(argv: string[], env: Record<string, string> = {}) {
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
  return toRunInput(c.image, c.command, c.flags, (n) => env[n]);
}

describe("berth run argument parsing", () => {
  it("takes flags before IMAGE and everything after it as the command", () => {
    const input = parseRun([
      "-d",
      "--rm",
      "--name",
      "web",
      "-m",
      "64m",
      "busybox",
      "ls",
      "-l",
      "--name",
      "x",
    ]);
    expect(input.name).toBe("web");
    expect(input.autoRemove).toBe(true);
    expect(input.spec.image).toBe("busybox");
    expect(input.spec.command).toEqual(["ls", "-l", "--name", "x"]);
    expect(input.spec.limits?.memoryBytes).toBe(64 * 1024 * 1024);
  });

  it("leaves the image's CMD alone when no command is given", () => {
    const input = parseRun(["busybox"]);
    expect(input.spec.command).toBeUndefined();
    expect(input.spec.entrypoint).toBeUndefined();
    expect(input.autoRemove).toBe(false);
  });

  it("collects repeated -e and copies `-e KEY` from the CLI's environment like docker", () => {
    const input = parseRun(
      ["-e", "A=1", "--env", "B=two=2", "-e", "HOME_DIR", "-e", "UNSET", "busybox", "env"],
      {
        HOME_DIR: "/root",
      },
    );
    expect(input.spec.env).toEqual(["A=1", "B=two=2", "HOME_DIR=/root"]);
  });

  it("maps the other docker flags onto the spec", () => {
    const input = parseRun([
      "--node",
      "node-1",
      "--pids-limit",
      "64",
      "-w",
      "/tmp",
      "-u",
      "1000:1000",
      "--hostname",
      "box",
      "--entrypoint",
      "/bin/sh",
      "-l",
      "team=a",
      "busybox",
      "-c",
      "echo hi",
    ]);
    expect(input.node).toBe("node-1");
    expect(input.spec).toMatchObject({
      workingDir: "/tmp",
      user: "1000:1000",
      hostname: "box",
      entrypoint: ["/bin/sh"],
      command: ["-c", "echo hi"],
      labels: { team: "a" },
      limits: { pidsLimit: 64 },
    });
  });

  it("treats --pids-limit -1 as unlimited and --entrypoint '' as no entrypoint", () => {
    const input = parseRun(["--pids-limit", "-1", "--entrypoint", "", "busybox"]);
    expect(input.spec.limits?.pidsLimit).toBeUndefined();
    expect(input.spec.entrypoint).toEqual([]);
  });

  it("rejects a malformed -m with a usage error naming the flag", () => {
    let err: unknown;
    try {
      parseRun(["-m", "lots", "busybox"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/invalid argument "lots" for "-m, --memory" flag/);
    expect(() => parseRun(["-m", "64q", "busybox"])).toThrow(/invalid size unit/);
  });

  it("rejects values the API schema refuses, by flag, before any request", () => {
    let err: unknown;
    try {
      parseRun(["-m", "1k", "busybox"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      "invalid -m, --memory: the memory limit must be at least 6 MiB",
    );
    expect(() => parseRun(["-w", "relative", "busybox"])).toThrow(
      /-w, --workdir: the working directory must be absolute/,
    );
    expect(() => parseRun(["NotAnImage!"])).toThrow(/IMAGE: invalid image reference/);
    expect(() => parseRun(["--pids-limit", "many", "busybox"])).toThrow(
      /--pids-limit.*expected an integer/,
    );
  });

  it("requires an IMAGE", () => {
    expect(() => parseRun([])).toThrow(/missing required argument 'image'/);
  });
});
