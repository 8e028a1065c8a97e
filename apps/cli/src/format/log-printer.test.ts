import { describe, expect, it } from "vitest";
import { logTextFromPacked, packLogLines, LogPacker, type LogLine } from "@berth/core";
import { LogPrinter } from "./log-printer";

const l = (ts: string, stream: LogLine["stream"], line: string, full = true): LogLine => ({
  ts,
  stream,
  line,
  full,
});

function capture(timestamps: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const p = new LogPrinter(
    { write: (s) => out.push(s) },
    { write: (s) => err.push(s) },
    timestamps,
  );
  return { p, out, err };
}

describe("LogPrinter with packed batches", () => {
  it("writes an all-stdout batch in one write", () => {
    const packer = new LogPacker(false);
    for (let i = 1; i <= 3; i++) packer.add("", "stdout", String(i), true);
    const { p, out, err } = capture(false);
    p.write({ packed: packer.take() });
    expect(out).toEqual(["1\n2\n3\n"]);
    expect(err).toEqual([]);
  });

  it("splits streams, joins partial lines and prefixes times as with {lines}", () => {
    const lines = [
      l("t1", "stdout", "a"),
      l("t2", "stderr", "par", false),
      l("t3", "stderr", "tial"),
      l("t4", "stdout", "b"),
    ];
    const packed = capture(true);
    packed.p.write({ packed: packLogLines(lines) });
    const plain = capture(true);
    plain.p.write({ lines });
    expect(packed.out).toEqual(plain.out);
    expect(packed.err).toEqual(plain.err);
    expect(packed.out.join("")).toBe("t1 a\nt4 b\n");
    expect(packed.err.join("")).toBe("t2 partial\n");
  });
});

describe("LogPrinter with text batches", () => {
  it("writes each run to its stream with one write, as the {lines} form prints", () => {
    const lines = [
      l("", "stdout", "a"),
      l("", "stdout", "b"),
      l("", "stderr", "par", false),
      l("", "stderr", "tial"),
      l("", "stdout", "c", false),
    ];
    const text = capture(false);
    text.p.write({ text: logTextFromPacked(packLogLines(lines)) });
    expect(text.out).toEqual(["a\nb\n", "c"]);
    expect(text.err).toEqual(["partial\n"]);
    const viaLines = capture(false);
    viaLines.p.write({ lines });
    expect(text.out.join("")).toBe(viaLines.out.join(""));
    expect(text.err.join("")).toBe(viaLines.err.join(""));
  });

  it("skips empty runs and writes a one-run batch's text as is", () => {
    const { p, out, err } = capture(false);
    p.write({ text: { n: 1, runs: "eo", ends: [0, 3], text: "12\n" } });
    expect(out).toEqual(["12\n"]);
    expect(err).toEqual([]);
  });
});
