/** `berth run`'s resource flags (parsed with the real option definitions) and limit-flags. */
import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { parseLimitFlags } from "./limit-flags";
import { parseRun } from "../testing/parse-run";

const MiB = 2 ** 20;

describe("berth run resource flags", () => {
  it("maps every docker resource flag to the spec's limits", () => {
    const input = parseRun([
      "-m",
      "64m",
      "--memory-reservation",
      "32m",
      "--memory-swap",
      "128m",
      "--cpus",
      "1.5",
      "-c",
      "512",
      "--cpuset-cpus",
      "0-1",
      "--cpuset-mems",
      "0",
      "--blkio-weight",
      "300",
      "--pids-limit",
      "20",
      "busybox",
      "top",
    ]);
    expect(input.spec.limits).toEqual({
      memoryBytes: 64 * MiB,
      memoryReservationBytes: 32 * MiB,
      memorySwapBytes: 128 * MiB,
      nanoCpus: 1_500_000_000,
      cpuShares: 512,
      cpusetCpus: "0-1",
      cpusetMems: "0",
      blkioWeight: 300,
      pidsLimit: 20,
    });
    expect(input.spec.command).toEqual(["top"]);
  });

  it("--memory-swap -1 is unlimited swap; --cpus 0.5 is 5e8 nano CPUs", () => {
    const input = parseRun(["-m", "64m", "--memory-swap", "-1", "--cpus", "0.5", "busybox"]);
    expect(input.spec.limits).toMatchObject({ memorySwapBytes: -1, nanoCpus: 500_000_000 });
  });

  it("rejects bad values naming the flag", () => {
    expect(() => parseRun(["--cpus", "lots", "busybox"])).toThrow(
      /invalid argument "lots" for "--cpus" flag/,
    );
    expect(() => parseRun(["--cpus", "lots", "busybox"])).toThrow(UsageError);
    expect(() => parseRun(["--memory-reservation", "1x", "busybox"])).toThrow(
      /"--memory-reservation" flag/,
    );
    expect(() => parseRun(["-c", "1.5", "busybox"])).toThrow(/"-c, --cpu-shares" flag/);
    let err: unknown;
    try {
      parseRun(["--blkio-weight", "5", "busybox"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/^invalid --blkio-weight: /);
    expect(() => parseRun(["--cpuset-cpus", "a-b", "busybox"])).toThrow(/--cpuset-cpus/);
  });
});

describe("parseLimitFlags", () => {
  it("returns only the flags given", () => {
    expect(parseLimitFlags({})).toEqual({});
    expect(parseLimitFlags({ pidsLimit: "0" })).toEqual({});
    expect(parseLimitFlags({ memory: "1g", pidsLimit: "50" }, "update")).toEqual({
      memoryBytes: 1024 * MiB,
      pidsLimit: 50,
    });
  });
  it("names the command in its hint", () => {
    try {
      parseLimitFlags({ cpus: "-1" }, "update");
      expect.unreachable();
    } catch (e) {
      expect((e as UsageError).hint).toBe("see `berth update --help`");
    }
  });
});
