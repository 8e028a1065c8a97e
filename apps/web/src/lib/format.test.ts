import { describe, expect, it } from "vitest";
import {
  formatCommand,
  formatDateTime,
  formatDuration,
  formatLogTimestamp,
  formatRelative,
} from "./format";

const NOW = Date.UTC(2025, 10, 27, 12, 0, 0);

describe("formatRelative", () => {
  it("says never for a missing time", () => {
    expect(formatRelative(null, NOW)).toBe("never");
    expect(formatRelative(undefined, NOW)).toBe("never");
  });
  it("rounds to the largest whole unit", () => {
    expect(formatRelative(NOW - 500, NOW)).toBe("just now");
    expect(formatRelative(NOW - 12_000, NOW)).toBe("12 s ago");
    expect(formatRelative(NOW - 3 * 60_000 - 59_000, NOW)).toBe("3 min ago");
    expect(formatRelative(NOW - 2 * 3600_000, NOW)).toBe("2 h ago");
    expect(formatRelative(NOW - 3 * 86_400_000, NOW)).toBe("3 d ago");
    expect(formatRelative(NOW - 400 * 86_400_000, NOW)).toBe("1 y ago");
  });
  it("handles times in the future", () => {
    expect(formatRelative(NOW + 5 * 60_000, NOW)).toBe("in 5 min");
  });
});

describe("formatDuration", () => {
  it("shows the two largest units", () => {
    expect(formatDuration(45_000)).toBe("45 s");
    expect(formatDuration(61_000)).toBe("1 min 1 s");
    expect(formatDuration(3_600_000)).toBe("1 h");
    expect(formatDuration(3_720_000)).toBe("1 h 2 min");
    expect(formatDuration(90_000_000)).toBe("1 d 1 h");
    expect(formatDuration(-5)).toBe("0 s");
  });
});

describe("formatDateTime", () => {
  it("prints local time to the second, or a dash", () => {
    const t = new Date(2025, 0, 2, 3, 4, 5).getTime();
    expect(formatDateTime(t)).toBe("2025-01-02 03:04:05");
    expect(formatDateTime(null)).toBe("—");
  });
});

describe("formatLogTimestamp", () => {
  it("shortens conmon's nanosecond RFC 3339 times to UTC milliseconds", () => {
    expect(formatLogTimestamp("2025-11-27T18:43:30.123456789Z")).toBe("18:43:30.123");
    expect(formatLogTimestamp("2025-11-27T18:43:30.1+01:00")).toBe("17:43:30.100");
    expect(formatLogTimestamp("2025-11-27T18:43:30Z")).toBe("18:43:30.000");
  });
  it("leaves anything else alone", () => {
    expect(formatLogTimestamp("yesterday")).toBe("yesterday");
  });
});

describe("formatCommand", () => {
  it("quotes arguments with spaces or quotes", () => {
    expect(formatCommand(["sh", "-c", "echo hi"])).toBe('sh -c "echo hi"');
    expect(formatCommand(["echo", ""])).toBe('echo ""');
  });
  it("names the image default when there is no command", () => {
    expect(formatCommand(null)).toBe("(image default)");
    expect(formatCommand([])).toBe("(image default)");
  });
});
