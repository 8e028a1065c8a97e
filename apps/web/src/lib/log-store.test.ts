import { describe, expect, it } from "vitest";
import type { LogLine } from "@berth/core";
import { LogStore } from "./log-lines";
import { bytesToBase64, TerminalInputQueue, type InputMessage } from "./terminal-input";

const line = (i: number, full = true, stream: LogLine["stream"] = "stdout"): LogLine => ({
  ts: `t${i}`,
  stream,
  line: `line ${i}`,
  full,
});

describe("LogStore", () => {
  it("joins partial lines and keeps at most max lines, counting what it dropped", () => {
    const s = new LogStore(100);
    s.push([line(0, false), line(1, true)]);
    expect(s.lines.map((l) => l.text)).toEqual(["line 0line 1"]);
    for (let c = 0; c < 10; c++) s.push(Array.from({ length: 50 }, (_, i) => line(c * 50 + i)));
    expect(s.lines.length).toBeLessThanOrEqual(100);
    expect(s.dropped + s.lines.length).toBe(501);
    expect(s.lines.at(-1)?.text).toBe("line 499");
    // Keys stay unique and increasing across drops.
    const seqs = s.lines.map((l) => l.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const v = s.version;
    s.clear();
    expect(s.lines).toEqual([]);
    expect(s.dropped).toBe(0);
    expect(s.version).toBeGreaterThan(v);
  });
});

describe("TerminalInputQueue", () => {
  it("sends one call at a time, batches what queued meanwhile, keeps the last resize", async () => {
    const sent: InputMessage[] = [];
    let release!: () => void;
    const q = new TerminalInputQueue(
      (m) => {
        sent.push(m);
        return new Promise<void>((r) => (release = r));
      },
      () => undefined,
    );
    q.write("a");
    q.write("b");
    q.setSize({ cols: 80, rows: 24 });
    q.setSize({ cols: 100, rows: 30 });
    q.write("é");
    expect(sent).toEqual([{ data: bytesToBase64(new TextEncoder().encode("a")) }]);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent[1]).toEqual({ resize: { cols: 100, rows: 30 } });
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(Buffer.from((sent[2] as { data: string }).data, "base64").toString()).toBe("bé");
    expect(sent).toHaveLength(3);
  });

  it("a held queue sends nothing until released, then what queued (resize first)", async () => {
    const sent: InputMessage[] = [];
    const q = new TerminalInputQueue(
      async (m) => void sent.push(m),
      () => undefined,
      { held: true },
    );
    q.write("ls\r");
    q.setSize({ cols: 120, rows: 40 });
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([]);
    q.release();
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([
      { resize: { cols: 120, rows: 40 } },
      { data: bytesToBase64(new TextEncoder().encode("ls\r")) },
    ]);
  });

  it("splits more than 64 KiB into several calls", async () => {
    const sent: InputMessage[] = [];
    const q = new TerminalInputQueue(
      async (m) => void sent.push(m),
      () => undefined,
    );
    q.write("x".repeat(100 * 1024));
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
    const sizes = sent.map((m) => Buffer.from((m as { data: string }).data, "base64").length);
    expect(sizes).toEqual([64 * 1024, 36 * 1024]);
  });
});
