import type { LogLine } from "@berth/core";
import { describe, expect, it } from "vitest";
import { appendLogLines, emptyLogBuffer } from "./log-lines";

const line = (text: string, stream: LogLine["stream"] = "stdout", full = true): LogLine => ({
  ts: "2025-11-27T18:00:00.000000000Z",
  stream,
  line: text,
  full,
});

describe("appendLogLines", () => {
  it("appends complete lines with increasing sequence numbers", () => {
    const b = appendLogLines(emptyLogBuffer(), [line("a"), line("b", "stderr")]);
    expect(b.lines.map((l) => [l.seq, l.stream, l.text])).toEqual([
      [0, "stdout", "a"],
      [1, "stderr", "b"],
    ]);
    expect(b.nextSeq).toBe(2);
  });

  it("joins a partial line with the next line of the same stream, across chunks", () => {
    let b = appendLogLines(emptyLogBuffer(), [line("hel", "stdout", false), line("err", "stderr")]);
    b = appendLogLines(b, [line("lo-", "stdout", false)]);
    b = appendLogLines(b, [line("berth"), line("next")]);
    expect(b.lines.map((l) => [l.stream, l.text, l.complete])).toEqual([
      ["stdout", "hello-berth", true],
      ["stderr", "err", true],
      ["stdout", "next", true],
    ]);
  });

  it("keeps at most max lines, dropping the oldest", () => {
    const b = appendLogLines(
      emptyLogBuffer(),
      ["1", "2", "3", "4"].map((t) => line(t)),
      3,
    );
    expect(b.lines.map((l) => l.text)).toEqual(["2", "3", "4"]);
    expect(b.dropped).toBe(1);
    expect(b.lines[0]!.seq).toBe(1);
  });

  it("does not mutate the buffer it was given", () => {
    const a = appendLogLines(emptyLogBuffer(), [line("x", "stdout", false)]);
    const snapshot = JSON.stringify(a);
    appendLogLines(a, [line("y")]);
    expect(JSON.stringify(a)).toBe(snapshot);
  });
});
