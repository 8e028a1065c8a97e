import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogLine } from "@berth/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lineFilter, parseK8sLogLine, readK8sLog, timeFilter, timestampNs } from "./k8s-log";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-log-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rec = (i: number, stream = "stdout", tag = "F") =>
  `2026-01-01T00:00:0${i % 10}.123456789+00:00 ${stream} ${tag} line ${i}\n`;

describe("parseK8sLogLine", () => {
  it("parses full and partial records", () => {
    expect(parseK8sLogLine("2026-11-27T18:55:32.722362592+00:00 stdout F hi there")).toEqual({
      ts: "2026-11-27T18:55:32.722362592+00:00",
      stream: "stdout",
      line: "hi there",
      full: true,
    });
    expect(parseK8sLogLine("2026-11-27T18:55:32.7+00:00 stderr P part")).toMatchObject({
      stream: "stderr",
      full: false,
      line: "part",
    });
    expect(parseK8sLogLine("2026-11-27T18:55:32.7+00:00 stdout F ")).toMatchObject({ line: "" });
    expect(parseK8sLogLine("garbage")).toBeNull();
  });
});

describe("readK8sLog", () => {
  it("keeps only the lines of a stream and matching the search, after tail", async () => {
    const p = join(dir, "ctr.log");
    writeFileSync(
      p,
      [rec(1), rec(2, "stderr"), rec(3), rec(10, "stderr"), rec(11), rec(12)].join(""),
    );
    const read = async (opts: { tail?: number }, filter: ReturnType<typeof lineFilter>) => {
      const got: LogLine[] = [];
      await readK8sLog(
        p,
        {
          ...opts,
          follow: false,
          isDone: () => true,
          signal: new AbortController().signal,
          filter: filter ?? undefined,
        },
        (l) => got.push(...l),
      );
      return got.map((l) => `${l.stream}:${l.line}`);
    };
    expect(lineFilter(undefined, undefined)).toBeNull();
    expect(await read({}, lineFilter("stderr", undefined))).toEqual([
      "stderr:line 2",
      "stderr:line 10",
    ]);
    const grep = { pattern: "LINE 1", regex: false, ignoreCase: true };
    expect(await read({}, lineFilter(undefined, grep))).toEqual([
      "stdout:line 1",
      "stderr:line 10",
      "stdout:line 11",
      "stdout:line 12",
    ]);
    expect(
      await read({}, lineFilter("stdout", { ...grep, pattern: "^line 1\\d$", regex: true })),
    ).toEqual(["stdout:line 11", "stdout:line 12"]);
    // tail counts records of the log, then the filter applies.
    expect(await read({ tail: 3 }, lineFilter("stderr", undefined))).toEqual(["stderr:line 10"]);
  });

  it("reads everything, or the last N records", async () => {
    const p = join(dir, "ctr.log");
    writeFileSync(p, [0, 1, 2, 3, 4].map((i) => rec(i)).join(""));
    const all: LogLine[] = [];
    await readK8sLog(
      p,
      { follow: false, isDone: () => true, signal: new AbortController().signal },
      (l) => all.push(...l),
    );
    expect(all.map((l) => l.line)).toEqual(["line 0", "line 1", "line 2", "line 3", "line 4"]);
    const last: LogLine[] = [];
    await readK8sLog(
      p,
      { tail: 2, follow: false, isDone: () => true, signal: new AbortController().signal },
      (l) => last.push(...l),
    );
    expect(last.map((l) => l.line)).toEqual(["line 3", "line 4"]);
    const none: LogLine[] = [];
    await readK8sLog(
      p,
      { tail: 0, follow: false, isDone: () => true, signal: new AbortController().signal },
      (l) => none.push(...l),
    );
    expect(none).toEqual([]);
  });

  it("follows new records until the writer is done, then drains", async () => {
    const p = join(dir, "ctr.log");
    writeFileSync(p, rec(0));
    let done = false;
    const got: string[] = [];
    const reading = readK8sLog(
      p,
      { follow: true, isDone: () => done, signal: new AbortController().signal, pollMs: 20 },
      (l) => got.push(...l.map((x) => x.line)),
    );
    await new Promise((r) => setTimeout(r, 50));
    appendFileSync(p, rec(1));
    await new Promise((r) => setTimeout(r, 50));
    appendFileSync(p, rec(2));
    done = true;
    await reading;
    expect(got).toEqual(["line 0", "line 1", "line 2"]);
  });

  it("stops following when aborted", async () => {
    const p = join(dir, "ctr.log");
    writeFileSync(p, rec(0));
    const ac = new AbortController();
    const got: string[] = [];
    const reading = readK8sLog(
      p,
      { follow: true, isDone: () => false, signal: ac.signal, pollMs: 1000 },
      (l) => got.push(...l.map((x) => x.line)),
    );
    // The first line is read, then the reader is following (polling every second) when aborted.
    await expect.poll(() => got, { timeout: 5000 }).toEqual(["line 0"]);
    ac.abort();
    await reading; // resolves only because of the abort: the reader never sees isDone()
    expect(got).toEqual(["line 0"]);
  });
});

describe("readK8sLog UTF-8", () => {
  it("keeps a multi-byte character whole when it straddles a 64 KiB read", async () => {
    const p = join(dir, "ctr.log");
    const prefix = "2026-01-01T00:00:00.000000000Z stdout F ";
    // The 2-byte "é" occupies bytes 65535 and 65536: the first read ends in its middle.
    const filler = "a".repeat(65536 - prefix.length - 1);
    writeFileSync(p, `${prefix}${filler}é€\n${prefix}next ü\n`);
    const got: LogLine[] = [];
    await readK8sLog(
      p,
      { follow: false, isDone: () => true, signal: new AbortController().signal },
      (l) => got.push(...l),
    );
    expect(got.map((l) => l.line)).toEqual([`${filler}é€`, "next ü"]);
    expect(got.some((l) => l.line.includes("\ufffd"))).toBe(false);
  });
});

describe("since/until", () => {
  it("timestampNs is exact to the nanosecond and honours the zone", () => {
    expect(timestampNs("1970-01-01T00:00:01.000000001Z")).toBe(1_000_000_001n);
    expect(timestampNs("1970-01-01T01:00:01.5+01:00")).toBe(1_500_000_000n);
    expect(timestampNs("2026-11-27T18:55:32.722362592+00:00")! % 1_000_000_000n).toBe(722_362_592n);
    expect(timestampNs("yesterday")).toBeNull();
  });

  it("keeps the lines within [since, until], and tail counts before the filter", async () => {
    const path = join(dir, "ctr.log");
    writeFileSync(
      path,
      [0, 1, 2, 3, 4, 5].map((i) => rec(i, i % 2 ? "stderr" : "stdout")).join(""),
    );
    const read = async (o: { since?: string; until?: string; tail?: number }) => {
      const out: LogLine[] = [];
      await readK8sLog(
        path,
        { follow: false, isDone: () => true, signal: new AbortController().signal, ...o },
        (l) => out.push(...l),
      );
      return out.map((l) => `${l.stream}:${l.line}`);
    };
    expect(await read({ since: "2026-01-01T00:00:02.123456789Z" })).toEqual([
      "stdout:line 2",
      "stderr:line 3",
      "stdout:line 4",
      "stderr:line 5",
    ]);
    // one nanosecond later excludes line 2; a zone offset is honoured
    expect(await read({ since: "2026-01-01T01:00:02.12345679+01:00" })).toHaveLength(3);
    expect(await read({ until: "2026-01-01T00:00:01.5Z" })).toEqual([
      "stdout:line 0",
      "stderr:line 1",
    ]);
    expect(
      await read({ since: "2026-01-01T00:00:01Z", until: "2026-01-01T00:00:03.2Z", tail: 4 }),
    ).toEqual(["stdout:line 2", "stderr:line 3"]);
  });

  it("refuses a time that is not RFC 3339", () => {
    expect(() => timeFilter("10m", undefined)).toThrow(/invalid log time "10m"/);
  });
});
