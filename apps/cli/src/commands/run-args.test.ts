import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("berth run security flags", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-cli-seccomp-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("defaults to the hardened spec", () => {
    const input = parseRun(["busybox"]);
    expect(input.spec.security).toEqual({
      capAdd: [],
      capDrop: [],
      privileged: false,
      noNewPrivileges: true,
      seccomp: "default",
      readOnlyRootfs: false,
    });
    expect(input.spec.tmpfs).toEqual([]);
  });

  it("maps repeatable --cap-add/--cap-drop, --privileged, --read-only and --tmpfs", () => {
    const input = parseRun([
      "--cap-add",
      "net_admin",
      "--cap-add",
      "CAP_SYS_TIME",
      "--cap-drop",
      "ALL",
      "--privileged",
      "--read-only",
      "--tmpfs",
      "/run:rw,size=64m",
      "--tmpfs",
      "/tmp",
      "busybox",
    ]);
    expect(input.spec.security?.capAdd).toEqual(["NET_ADMIN", "SYS_TIME"]);
    expect(input.spec.security?.capDrop).toEqual(["ALL"]);
    expect(input.spec.security?.privileged).toBe(true);
    expect(input.spec.security?.readOnlyRootfs).toBe(true);
    expect(input.spec.tmpfs).toEqual([
      { target: "/run", options: "rw,size=64m" },
      { target: "/tmp", options: "" },
    ]);
  });

  it("parses --security-opt no-new-privileges and seccomp=unconfined", () => {
    expect(
      parseRun(["--security-opt", "no-new-privileges", "busybox"]).spec.security?.noNewPrivileges,
    ).toBe(true);
    expect(
      parseRun(["--security-opt", "no-new-privileges=false", "busybox"]).spec.security
        ?.noNewPrivileges,
    ).toBe(false);
    expect(
      parseRun(["--security-opt", "no-new-privileges:true", "busybox"]).spec.security
        ?.noNewPrivileges,
    ).toBe(true);
    expect(
      parseRun(["--security-opt", "seccomp=unconfined", "busybox"]).spec.security?.seccomp,
    ).toBe("unconfined");
  });

  it("reads and JSON-parses a seccomp profile file", () => {
    const profile = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mount"], action: "SCMP_ACT_ERRNO" }],
    };
    const file = join(dir, "profile.json");
    writeFileSync(file, JSON.stringify(profile));
    expect(
      parseRun(["--security-opt", `seccomp=${file}`, "busybox"]).spec.security?.seccomp,
    ).toEqual(profile);
  });

  it("gives clear usage errors for a missing, invalid or wrong-shaped profile", () => {
    const missing = join(dir, "nope.json");
    expect(() => parseRun(["--security-opt", `seccomp=${missing}`, "busybox"])).toThrow(UsageError);
    expect(() => parseRun(["--security-opt", `seccomp=${missing}`, "busybox"])).toThrow(
      /cannot read seccomp profile: ENOENT/,
    );
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    expect(() => parseRun(["--security-opt", `seccomp=${bad}`, "busybox"])).toThrow(
      /bad\.json is not valid JSON/,
    );
    const shape = join(dir, "shape.json");
    writeFileSync(shape, JSON.stringify({ syscalls: [] }));
    expect(() => parseRun(["--security-opt", `seccomp=${shape}`, "busybox"])).toThrow(
      /is not a seccomp profile: defaultAction/,
    );
  });

  it("rejects unknown --security-opt values, bad booleans, relative tmpfs and bad caps", () => {
    expect(() => parseRun(["--security-opt", "apparmor=foo", "busybox"])).toThrow(
      /"--security-opt" flag: expected no-new-privileges/,
    );
    expect(() => parseRun(["--security-opt", "no-new-privileges=maybe", "busybox"])).toThrow(
      /expected true or false/,
    );
    expect(() => parseRun(["--tmpfs", "run", "busybox"])).toThrow(/"--tmpfs" flag/);
    expect(() => parseRun(["--tmpfs", "/run:size=1m;rm", "busybox"])).toThrow(/--tmpfs/);
    expect(() => parseRun(["--cap-add", "net admin", "busybox"])).toThrow(/--cap-add/);
  });
});
