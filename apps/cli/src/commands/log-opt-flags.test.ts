import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { parseLogOptFlags } from "./log-opt-flags";
import { parseRun } from "../testing/parse-run";

describe("berth run --log-opt", () => {
  it("maps max-size (docker units) and max-file to spec.logConfig", () => {
    const input = parseRun(["--log-opt", "max-size=10m", "--log-opt=max-file=3", "busybox"]);
    expect(input.spec.logConfig).toEqual({ maxSize: 10 * 1024 * 1024, maxFile: 3 });
    expect(parseRun(["--log-opt", "max-size=64k", "busybox"]).spec.logConfig).toEqual({
      maxSize: 65536,
    });
    expect(parseRun(["--log-opt", "max-size=1g", "busybox"]).spec.logConfig?.maxSize).toBe(2 ** 30);
  });

  it("leaves logConfig out without --log-opt (no rotation)", () => {
    expect(parseRun(["busybox"]).spec.logConfig).toBeUndefined();
  });

  it("refuses unknown keys, missing values and bad numbers with a clear message", () => {
    expect(() => parseLogOptFlags({ logOpt: ["compress=true"] })).toThrow(UsageError);
    expect(() => parseLogOptFlags({ logOpt: ["compress=true"] })).toThrow(
      /unknown log option "compress" \(supported: max-size, max-file\)/,
    );
    expect(() => parseLogOptFlags({ logOpt: ["max-size"] })).toThrow(/expected max-size=VALUE/);
    expect(() => parseLogOptFlags({ logOpt: ["max-size=10x"] })).toThrow(/invalid size unit/);
    expect(() => parseLogOptFlags({ logOpt: ["max-file=two"] })).toThrow(/whole number/);
  });

  it("applies the schema's bounds, naming the option", () => {
    expect(() => parseRun(["--log-opt", "max-size=1k", "busybox"])).toThrow(CliError);
    expect(() => parseRun(["--log-opt", "max-size=1k", "busybox"])).toThrow(
      /--log-opt max-size: the log max-size must be at least 4 KiB/,
    );
    expect(() =>
      parseRun(["--log-opt", "max-size=1m", "--log-opt", "max-file=0", "busybox"]),
    ).toThrow(/--log-opt max-file: the log max-file must be at least 1/);
    expect(() =>
      parseRun(["--log-opt", "max-size=1m", "--log-opt", "max-file=101", "busybox"]),
    ).toThrow(/at most 100/);
    expect(() => parseRun(["--log-opt", "max-file=3", "busybox"])).toThrow(
      /the log max-file needs a max-size/,
    );
  });
});
