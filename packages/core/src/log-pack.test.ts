import { describe, expect, it } from "vitest";
import { LogGrepSchema, logLineMatcher } from "./log-grep";
import { LogPacker, PackedLogsSchema, packLogLines, unpackLogLines } from "./log-pack";
import type { LogLine } from "./container";

const lines: LogLine[] = [
  { ts: "2026-01-02T03:04:05.000000001Z", stream: "stdout", line: "hello", full: true },
  { ts: "2026-01-02T03:04:05.000000002Z", stream: "stderr", line: "", full: true },
  { ts: "2026-01-02T03:04:05.000000003Z", stream: "stdout", line: "part of a lo", full: false },
  { ts: "2026-01-02T03:04:05.000000004Z", stream: "stdout", line: "ng line \t ü", full: true },
];

describe("packed logs", () => {
  it("round-trips lines, streams, partial flags and times, and validates", () => {
    const p = packLogLines(lines);
    expect(p).toEqual({
      n: 4,
      ts: lines.map((l) => l.ts).join("\n"),
      streams: "oeOo",
      text: "hello\n\npart of a lo\nng line \t ü",
    });
    expect(PackedLogsSchema.parse(JSON.parse(JSON.stringify(p)))).toEqual(p);
    expect(unpackLogLines(p)).toEqual(lines);
    expect(unpackLogLines(packLogLines([]))).toEqual([]);
  });

  it("drops the times when asked, and the packer empties on take", () => {
    const packer = new LogPacker(false);
    for (const l of lines) packer.add(l.ts, l.stream, l.line, l.full);
    expect(packer.count).toBe(4);
    const p = packer.take();
    expect(p.ts).toBeUndefined();
    expect(packer.count).toBe(0);
    expect(unpackLogLines(p).map((l) => [l.ts, l.line])).toEqual(lines.map((l) => ["", l.line]));
  });

  it("refuses batches whose parts disagree", () => {
    expect(PackedLogsSchema.safeParse({ n: 2, streams: "o", text: "a\nb" }).success).toBe(false);
    expect(PackedLogsSchema.safeParse({ n: 1, streams: "x", text: "a" }).success).toBe(false);
    expect(() => unpackLogLines({ n: 2, streams: "oo", text: "only one" })).toThrow(/2 lines/);
  });
});

describe("log search", () => {
  it("matches substrings, case-insensitively on request, and regular expressions", () => {
    const m = (g: unknown) => logLineMatcher(LogGrepSchema.parse(g));
    expect(m({ pattern: "err" })("an error")).toBe(true);
    expect(m({ pattern: "ERR" })("an error")).toBe(false);
    expect(m({ pattern: "ERR", ignoreCase: true })("an error")).toBe(true);
    expect(m({ pattern: "^a.*r$", regex: true })("an error")).toBe(true);
    expect(m({ pattern: "a.c" })("abc")).toBe(false); // plain text: the dot is a dot
    expect(LogGrepSchema.safeParse({ pattern: "(", regex: true }).success).toBe(false);
    expect(LogGrepSchema.safeParse({ pattern: "" }).success).toBe(false);
  });
});
