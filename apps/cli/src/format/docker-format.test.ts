import { describe, expect, it } from "vitest";
import {
  ago,
  commandColumn,
  containerStatus,
  ellipsis,
  formatTable,
  humanDuration,
  humanSize,
} from "./docker-format";
import { LogPrinter } from "./log-printer";

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe("humanDuration (docker's go-units)", () => {
  it.each([
    [500, "Less than a second"],
    [1 * S, "1 second"],
    [3 * S, "3 seconds"],
    [59 * S, "59 seconds"],
    [60 * S, "About a minute"],
    [119 * S, "About a minute"],
    [2 * M, "2 minutes"],
    [59 * M, "59 minutes"],
    [60 * M, "About an hour"],
    [90 * M, "2 hours"],
    [47 * H, "47 hours"],
    [48 * H, "2 days"],
    [14 * 24 * H, "2 weeks"],
    [60 * 24 * H, "2 months"],
    [3 * 365 * 24 * H, "3 years"],
  ])("%d ms → %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe("container status like docker ps", () => {
  const now = 1_700_000_000_000;
  const base = { exitCode: null, startedAt: null, finishedAt: null } as const;
  it("shows uptime for running containers", () => {
    expect(containerStatus({ ...base, state: "running", startedAt: now - 3 * S }, now)).toBe(
      "Up 3 seconds",
    );
    expect(containerStatus({ ...base, state: "paused", startedAt: now - 5 * M }, now)).toBe(
      "Up 5 minutes (Paused)",
    );
  });
  it("shows the health of running containers as docker does", () => {
    const up = { ...base, state: "running", startedAt: now - 3 * S } as const;
    const health = (status: string) => ({ status });
    expect(containerStatus({ ...up, health: health("healthy") }, now)).toBe(
      "Up 3 seconds (healthy)",
    );
    expect(containerStatus({ ...up, health: health("unhealthy") }, now)).toBe(
      "Up 3 seconds (unhealthy)",
    );
    expect(containerStatus({ ...up, health: health("starting") }, now)).toBe(
      "Up 3 seconds (health: starting)",
    );
    expect(containerStatus({ ...up, health: null }, now)).toBe("Up 3 seconds");
  });
  it("shows the exit code and when for exited ones", () => {
    expect(
      containerStatus(
        { ...base, state: "exited", exitCode: 0, startedAt: now - 9 * S, finishedAt: now - 5 * S },
        now,
      ),
    ).toBe("Exited (0) 5 seconds ago");
    expect(
      containerStatus({ ...base, state: "exited", exitCode: 137, finishedAt: now - 2 * H }, now),
    ).toBe("Exited (137) 2 hours ago");
  });
  it("names the other states", () => {
    expect(containerStatus({ ...base, state: "created" }, now)).toBe("Created");
    expect(containerStatus({ ...base, state: "creating" }, now)).toBe("Creating");
    expect(containerStatus({ ...base, state: "removing" }, now)).toBe("Removal In Progress");
    expect(containerStatus({ ...base, state: "dead" }, now)).toBe("Dead");
    expect(ago(now - 61 * S, now)).toBe("About a minute ago");
  });
});

describe("columns", () => {
  it("quotes and truncates COMMAND to 20 characters", () => {
    expect(commandColumn(["sh", "-c", "echo hello world; sleep 1000"])).toBe(
      '"sh -c echo hello wo…"',
    );
    expect(commandColumn(["true"])).toBe('"true"');
    expect(commandColumn(null)).toBe('""');
    expect(commandColumn(["sh", "-c", "echo hello world; sleep 1000"], true)).toBe(
      '"sh -c echo hello world; sleep 1000"',
    );
    expect(ellipsis("abc", 3)).toBe("abc");
  });

  it("formats sizes in decimal units with 3 significant digits", () => {
    expect(humanSize(0)).toBe("0B");
    expect(humanSize(999)).toBe("999B");
    expect(humanSize(4_260_000)).toBe("4.26MB");
    expect(humanSize(1_234_567_890)).toBe("1.23GB");
  });

  it("aligns tables like tabwriter (min width 10, padding 3, last column unpadded)", () => {
    const out = formatTable(
      ["CONTAINER ID", "NAMES", "STATUS"],
      [
        ["0123456789ab", "a-very-long-name", "Up 3 seconds"],
        ["abc", "x", "Created"],
      ],
    );
    expect(out.split("\n")).toEqual([
      "CONTAINER ID   NAMES              STATUS",
      "0123456789ab   a-very-long-name   Up 3 seconds",
      "abc            x                  Created",
    ]);
  });
});

describe("LogPrinter", () => {
  it("routes streams, keeps partial lines and prefixes timestamps once per line", () => {
    const out: string[] = [];
    const err: string[] = [];
    const p = new LogPrinter({ write: (s) => out.push(s) }, { write: (s) => err.push(s) }, true);
    p.write({
      lines: [
        { ts: "T1", stream: "stdout", line: "hel", full: false },
        { ts: "T2", stream: "stdout", line: "lo", full: true },
        { ts: "T3", stream: "stderr", line: "oops", full: true },
        { ts: "T4", stream: "stdout", line: "bye", full: true },
      ],
    });
    expect(out.join("")).toBe("T1 hello\nT4 bye\n");
    expect(err).toEqual(["T3 oops\n"]);
    expect(out).toHaveLength(2);
  });
});
