import { HealthcheckSchema, type Health } from "@berth/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  HEALTH_OUTPUT_MAX,
  HealthCheck,
  applyProbe,
  initialHealth,
  probeArgv,
  type ProbeResult,
} from "./health-check";

const probe = (exitCode: number, output = ""): ProbeResult => ({
  start: "2026-01-01T00:00:00.000Z",
  end: "2026-01-01T00:00:00.010Z",
  exitCode,
  output,
});

describe("probeArgv", () => {
  it("maps CMD, CMD-SHELL and NONE", () => {
    expect(probeArgv(["CMD", "cat", "/ok"])).toEqual(["cat", "/ok"]);
    expect(probeArgv(["CMD-SHELL", "test -f /ok && echo ok"])).toEqual([
      "/bin/sh",
      "-c",
      "test -f /ok && echo ok",
    ]);
    expect(probeArgv(["NONE"])).toBeNull();
  });

  it("the schema refuses other tests", () => {
    expect(HealthcheckSchema.safeParse({ test: ["CMD"] }).success).toBe(false);
    expect(HealthcheckSchema.safeParse({ test: ["SHELL", "x"] }).success).toBe(false);
    expect(HealthcheckSchema.safeParse({ test: ["NONE", "x"] }).success).toBe(false);
    expect(HealthcheckSchema.parse({ test: ["CMD", "true"] })).toMatchObject({
      intervalMs: 30_000,
      timeoutMs: 30_000,
      retries: 3,
      startPeriodMs: 0,
    });
  });
});

describe("applyProbe", () => {
  const o = { retries: 3, inStartPeriod: false };

  it("a pass makes it healthy and resets the streak", () => {
    const h: Health = { status: "unhealthy", failingStreak: 5, log: [] };
    expect(applyProbe(h, probe(0, "ok"), o)).toMatchObject({ status: "healthy", failingStreak: 0 });
  });

  it("`retries` failures in a row make it unhealthy", () => {
    let h = initialHealth();
    h = applyProbe(h, probe(1), o);
    h = applyProbe(h, probe(1), o);
    expect(h).toMatchObject({ status: "starting", failingStreak: 2 });
    h = applyProbe(h, probe(1), o);
    expect(h).toMatchObject({ status: "unhealthy", failingStreak: 3 });
    // a healthy container needs `retries` failures too before it turns unhealthy
    h = applyProbe(applyProbe(h, probe(0), o), probe(2), o);
    expect(h).toMatchObject({ status: "healthy", failingStreak: 1 });
  });

  it("failures in the start period do not count while starting", () => {
    let h = applyProbe(initialHealth(), probe(1), { retries: 1, inStartPeriod: true });
    expect(h).toMatchObject({ status: "starting", failingStreak: 0 });
    h = applyProbe(h, probe(0), { retries: 1, inStartPeriod: true });
    expect(h.status).toBe("healthy");
    h = applyProbe(h, probe(1), { retries: 1, inStartPeriod: true });
    expect(h).toMatchObject({ status: "unhealthy", failingStreak: 1 });
  });

  it("keeps the last 5 probes, output capped", () => {
    let h = initialHealth();
    for (let i = 0; i < 7; i++) h = applyProbe(h, probe(i % 2, `run ${i}`), o);
    expect(h.log.map((l) => l.output)).toEqual(["run 2", "run 3", "run 4", "run 5", "run 6"]);
    h = applyProbe(h, probe(0, "x".repeat(10_000)), o);
    expect(h.log.at(-1)!.output).toHaveLength(HEALTH_OUTPUT_MAX);
  });
});

describe("HealthCheck", () => {
  afterEach(() => vi.useRealTimers());

  it("probes every interval without overlap and reports status changes", async () => {
    vi.useFakeTimers();
    const results = [1, 1, 0];
    const calls: string[][] = [];
    const seen: [string, boolean][] = [];
    const cfg = HealthcheckSchema.parse({
      test: ["CMD-SHELL", "check"],
      intervalMs: 1000,
      retries: 2,
    });
    const hc = new HealthCheck(
      cfg,
      Date.now(),
      (argv) => {
        calls.push(argv);
        return Promise.resolve(probe(results.shift() ?? 0));
      },
      (h, changed) => seen.push([h.status, changed]),
    );
    expect(hc.start()).toBe(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(3001);
    hc.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual(Array(4).fill(["/bin/sh", "-c", "check"]));
    expect(seen).toEqual([
      ["starting", false],
      ["unhealthy", true],
      ["healthy", true],
      ["healthy", false],
    ]);
  });

  it("a probe that throws counts as a failure; NONE never starts", async () => {
    vi.useFakeTimers();
    const seen: Health[] = [];
    const cfg = HealthcheckSchema.parse({ test: ["CMD", "x"], intervalMs: 10, retries: 1 });
    const hc = new HealthCheck(
      cfg,
      Date.now(),
      () => Promise.reject(new Error("exec failed")),
      (h) => seen.push(h),
    );
    hc.start();
    await vi.advanceTimersByTimeAsync(10);
    hc.stop();
    expect(seen[0]).toMatchObject({
      status: "unhealthy",
      log: [{ exitCode: -1, output: "exec failed" }],
    });
    const none = HealthcheckSchema.parse({ test: ["NONE"] });
    expect(
      new HealthCheck(
        none,
        0,
        () => Promise.reject(new Error()),
        () => undefined,
      ).start(),
    ).toBe(false);
  });
});
