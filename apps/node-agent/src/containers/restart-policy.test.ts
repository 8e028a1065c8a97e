import { RestartPolicySchema, type RestartPolicy } from "@berth/core";
import { describe, expect, it } from "vitest";
import {
  BACKOFF_INITIAL_MS,
  BACKOFF_MAX_MS,
  nextBackoffMs,
  shouldRestart,
  type RestartInput,
} from "./restart-policy";

const policy = (name: RestartPolicy["name"], maximumRetryCount = 0): RestartPolicy =>
  RestartPolicySchema.parse({ name, maximumRetryCount });

const base = (over: Partial<RestartInput>): RestartInput => ({
  policy: policy("no"),
  exitCode: 1,
  restartCount: 0,
  userStopped: false,
  trigger: "exit",
  ...over,
});

describe("shouldRestart", () => {
  it("never restarts with `no`", () => {
    expect(shouldRestart(base({ exitCode: 1 }))).toBe(false);
    expect(shouldRestart(base({ exitCode: 0, trigger: "agent-start" }))).toBe(false);
  });

  it("on-failure restarts non-zero exits up to the retry count", () => {
    const p = policy("on-failure", 2);
    expect(shouldRestart(base({ policy: p, exitCode: 3, restartCount: 0 }))).toBe(true);
    expect(shouldRestart(base({ policy: p, exitCode: 3, restartCount: 1 }))).toBe(true);
    expect(shouldRestart(base({ policy: p, exitCode: 3, restartCount: 2 }))).toBe(false);
    expect(shouldRestart(base({ policy: p, exitCode: 0 }))).toBe(false);
    expect(shouldRestart(base({ policy: p, exitCode: null }))).toBe(true);
  });

  it("on-failure without a count retries forever, but not after a user stop or at agent start", () => {
    const p = policy("on-failure");
    expect(shouldRestart(base({ policy: p, restartCount: 10_000 }))).toBe(true);
    expect(shouldRestart(base({ policy: p, userStopped: true, exitCode: 137 }))).toBe(false);
    expect(shouldRestart(base({ policy: p, trigger: "agent-start" }))).toBe(false);
  });

  it("always restarts any exit; a user stop holds only until the agent restarts", () => {
    const p = policy("always");
    expect(shouldRestart(base({ policy: p, exitCode: 0 }))).toBe(true);
    expect(shouldRestart(base({ policy: p, exitCode: 1, restartCount: 99 }))).toBe(true);
    expect(shouldRestart(base({ policy: p, userStopped: true }))).toBe(false);
    expect(shouldRestart(base({ policy: p, userStopped: true, trigger: "agent-start" }))).toBe(
      true,
    );
  });

  it("unless-stopped stays stopped after a user stop, also across agent restarts", () => {
    const p = policy("unless-stopped");
    expect(shouldRestart(base({ policy: p, exitCode: 0 }))).toBe(true);
    expect(shouldRestart(base({ policy: p, trigger: "agent-start" }))).toBe(true);
    expect(shouldRestart(base({ policy: p, userStopped: true }))).toBe(false);
    expect(shouldRestart(base({ policy: p, userStopped: true, trigger: "agent-start" }))).toBe(
      false,
    );
  });
});

describe("RestartPolicySchema", () => {
  it("refuses a retry count on other policies", () => {
    expect(RestartPolicySchema.safeParse({ name: "always", maximumRetryCount: 3 }).success).toBe(
      false,
    );
    expect(RestartPolicySchema.parse({})).toEqual({ name: "no", maximumRetryCount: 0 });
  });
});

describe("nextBackoffMs", () => {
  it("starts at 100 ms and doubles up to one minute", () => {
    const seen: number[] = [];
    let d = 0;
    for (let i = 0; i < 14; i++) seen.push((d = nextBackoffMs(d, 50)));
    expect(seen.slice(0, 5)).toEqual([100, 200, 400, 800, 1600]);
    expect(seen.at(-1)).toBe(BACKOFF_MAX_MS);
    expect(Math.max(...seen)).toBe(BACKOFF_MAX_MS);
  });

  it("resets after a run of at least 10 s", () => {
    expect(nextBackoffMs(6400, 9_999)).toBe(12_800);
    expect(nextBackoffMs(6400, 10_000)).toBe(BACKOFF_INITIAL_MS);
  });
});
