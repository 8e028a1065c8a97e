import { describe, expect, it } from "vitest";
import { packLogLines } from "./log-pack";
import { LogTextSchema, logTextFromPacked, logTextRuns, logTextWeight } from "./log-text";

describe("log text batches", () => {
  it("turns a packed batch into runs of one stream, partial lines without a newline", () => {
    const t = logTextFromPacked(
      packLogLines([
        { ts: "t1", stream: "stdout", line: "a", full: true },
        { ts: "t2", stream: "stdout", line: "par", full: false },
        { ts: "t3", stream: "stderr", line: "e", full: true },
        { ts: "t4", stream: "stdout", line: "tial", full: true },
        { ts: "t5", stream: "stdout", line: "", full: true },
      ]),
    );
    expect(t).toEqual({ n: 5, runs: "oeo", ends: [5, 7, 13], text: "a\npare\ntial\n\n" });
    expect(LogTextSchema.parse(t)).toEqual(t);
    expect(logTextRuns(t)).toEqual([
      ["stdout", "a\npar"],
      ["stderr", "e\n"],
      ["stdout", "tial\n\n"],
    ]);
    expect(logTextWeight(t)).toBe(t.text.length + 5 + 3);
    expect(logTextFromPacked(packLogLines([]))).toEqual({ n: 0, runs: "", ends: [], text: "" });
  });

  it("refuses runs and ends that do not agree with the text", () => {
    const bad = [
      { n: 1, runs: "o", ends: [], text: "" },
      { n: 1, runs: "oe", ends: [3, 2], text: "abc" },
      { n: 1, runs: "o", ends: [2], text: "abc" },
      { n: 1, runs: "x", ends: [3], text: "abc" },
      { n: -1, runs: "o", ends: [3], text: "abc" },
    ];
    for (const b of bad) expect(LogTextSchema.safeParse(b).success).toBe(false);
    expect(LogTextSchema.safeParse({ n: 0, runs: "", ends: [], text: "" }).success).toBe(true);
  });
});
