import { describe, expect, it } from "vitest";
import { packLogLines, LogPacker, type LogLine } from "@berth/core";
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
