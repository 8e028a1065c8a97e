import { describe, expect, it } from "vitest";
import { parseDurationMs, parseLogTime } from "./log-time";

const now = new Date("2026-11-27T20:00:00.000Z");

describe("parseLogTime", () => {
  it("passes RFC 3339 instants with a zone through unchanged", () => {
    expect(parseLogTime("2026-11-27T19:00:00.123456789+01:00", "--since", now)).toBe(
      "2026-11-27T19:00:00.123456789+01:00",
    );
  });

  it("takes durations before now", () => {
    expect(parseLogTime("10m", "--since", now)).toBe("2026-11-27T19:50:00.000Z");
    expect(parseLogTime("1h30m", "--since", now)).toBe("2026-11-27T18:30:00.000Z");
    expect(parseLogTime("1.5s", "--until", now)).toBe("2026-11-27T19:59:58.500Z");
  });

  it("takes Unix timestamps, keeping the nanoseconds", () => {
    expect(parseLogTime("1700000000", "--since", now)).toBe("2023-11-14T22:13:20.000000000Z");
    expect(parseLogTime("1700000000.000000001", "--since", now)).toBe(
      "2023-11-14T22:13:20.000000001Z",
    );
  });

  it("reads zoneless times as local time", () => {
    const t = parseLogTime("2026-01-02T03:04:05", "--since", now);
    expect(new Date(t).getTime()).toBe(new Date(2026, 0, 2, 3, 4, 5).getTime());
    expect(new Date(parseLogTime("2026-01-02", "--since", now)).getTime()).toBe(
      new Date(2026, 0, 2).getTime(),
    );
  });

  it("refuses what it cannot read, naming the flag", () => {
    expect(() => parseLogTime("yesterday", "--since", now)).toThrow(
      /invalid argument "yesterday" for "--since" flag/,
    );
    expect(() => parseLogTime("2026-02-30", "--until", now)).toThrow(/--until/);
    expect(() => parseLogTime("10x", "--since", now)).toThrow(/duration like 10m/);
  });
});

describe("parseDurationMs", () => {
  it("reads Go durations", () => {
    expect(parseDurationMs("300ms")).toBe(300);
    expect(parseDurationMs("2h")).toBe(7_200_000);
    expect(parseDurationMs("1m1s")).toBe(61_000);
    expect(parseDurationMs("m")).toBeNull();
    expect(parseDurationMs("")).toBeNull();
  });
});
