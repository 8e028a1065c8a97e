import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { parseRun } from "../testing/parse-run";

describe("berth run --restart", () => {
  it("defaults to no and reads docker's policies", () => {
    expect(parseRun(["busybox"]).spec.restartPolicy).toEqual({ name: "no", maximumRetryCount: 0 });
    expect(parseRun(["--restart", "on-failure:3", "busybox"]).spec.restartPolicy).toEqual({
      name: "on-failure",
      maximumRetryCount: 3,
    });
    expect(parseRun(["--restart", "on-failure", "busybox"]).spec.restartPolicy).toEqual({
      name: "on-failure",
      maximumRetryCount: 0,
    });
    expect(parseRun(["--restart", "unless-stopped", "busybox"]).spec.restartPolicy?.name).toBe(
      "unless-stopped",
    );
    expect(parseRun(["--restart", "always", "busybox"]).spec.restartPolicy?.name).toBe("always");
  });

  it("refuses bad policies and --rm with a policy", () => {
    expect(() => parseRun(["--restart", "sometimes", "busybox"])).toThrow(
      /invalid argument "sometimes" for "--restart" flag/,
    );
    expect(() => parseRun(["--restart", "always:3", "busybox"])).toThrow(
      /maximum retry count cannot be used with "always"/,
    );
    expect(() => parseRun(["--restart", "on-failure:x", "busybox"])).toThrow(UsageError);
    expect(() => parseRun(["--rm", "--restart", "always", "busybox"])).toThrow(
      /conflicting options: --restart and --rm/,
    );
    expect(parseRun(["--rm", "--restart", "no", "busybox"]).autoRemove).toBe(true);
  });
});

describe("berth run --health-*", () => {
  it("builds a CMD-SHELL healthcheck with durations", () => {
    const input = parseRun([
      "--health-cmd",
      "wget -qO- http://127.0.0.1/ || exit 1",
      "--health-interval",
      "1s",
      "--health-timeout",
      "500ms",
      "--health-retries",
      "5",
      "--health-start-period",
      "1m30s",
      "busybox",
    ]);
    expect(input.spec.healthcheck).toEqual({
      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1/ || exit 1"],
      intervalMs: 1000,
      timeoutMs: 500,
      retries: 5,
      startPeriodMs: 90_000,
    });
  });

  it("uses docker's defaults when only the command is given", () => {
    expect(parseRun(["--health-cmd", "true", "busybox"]).spec.healthcheck).toEqual({
      test: ["CMD-SHELL", "true"],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      retries: 3,
      startPeriodMs: 0,
    });
    expect(parseRun(["busybox"]).spec.healthcheck).toBeUndefined();
  });

  it("--no-healthcheck disables it and conflicts with --health-*", () => {
    expect(parseRun(["--no-healthcheck", "busybox"]).spec.healthcheck?.test).toEqual(["NONE"]);
    expect(() => parseRun(["--no-healthcheck", "--health-cmd", "true", "busybox"])).toThrow(
      /--no-healthcheck conflicts/,
    );
  });

  it("refuses bad values, naming the flag", () => {
    expect(() =>
      parseRun(["--health-cmd", "true", "--health-interval", "soon", "busybox"]),
    ).toThrow(/"--health-interval" flag/);
    expect(() => parseRun(["--health-cmd", "true", "--health-retries", "-1", "busybox"])).toThrow(
      /"--health-retries" flag/,
    );
    expect(() => parseRun(["--health-interval", "1s", "busybox"])).toThrow(
      /--health-interval needs --health-cmd/,
    );
    expect(() => parseRun(["--health-cmd", "", "busybox"])).toThrow(CliError);
  });
});
