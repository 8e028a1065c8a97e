import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { SeqSpool } from "./seq-spool";

const EntrySchema = z.object({ seq: z.number().int().positive(), v: z.string() });
type Entry = z.infer<typeof EntrySchema>;

let dir: string;
let file: string;
let stateWrites: { lastSeq: number; spoolExisted: string | null }[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-seq-spool-"));
  file = join(dir, "spool.jsonl");
  stateWrites = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A spool whose side-car write records the lastSeq and what the spool file held at that time. */
const open = () =>
  new SeqSpool<Entry>({
    file,
    schema: EntrySchema,
    writeState: (lastSeq) =>
      stateWrites.push({
        lastSeq,
        spoolExisted: existsSync(file) ? readFileSync(file, "utf8") : null,
      }),
  });
const lines = () => readFileSync(file, "utf8").trim().split("\n").filter(Boolean);

describe("SeqSpool", () => {
  it("appends durably, acks and compacts, writing the side-car state before the spool", () => {
    const s = open();
    expect(s.load(0)).toBe(0);
    s.append([
      { seq: 1, v: "a" },
      { seq: 2, v: "b" },
    ]);
    s.append([{ seq: 3, v: "c" }]);
    expect(s.lastSeq).toBe(3);
    expect(lines()).toHaveLength(3);
    expect(s.ack(2)).toBe(2);
    expect(s.ack(2)).toBe(0);
    expect(lines()).toEqual([JSON.stringify({ seq: 3, v: "c" })]);
    // The state was written while the spool still held all three lines.
    expect(stateWrites).toEqual([{ lastSeq: 3, spoolExisted: expect.stringContaining('"a"') }]);
    expect(s.pending().map((e) => e.v)).toEqual(["c"]);
    s.close();
  });

  it("skips torn, invalid and out-of-order lines at load and keeps the larger seq", () => {
    appendFileSync(
      file,
      [
        JSON.stringify({ seq: 4, v: "x" }),
        JSON.stringify({ seq: 3, v: "dup" }),
        JSON.stringify({ seq: 5 }),
        JSON.stringify({ seq: 6, v: "y" }),
        '{"seq": 7, "v"',
      ].join("\n"),
    );
    const seen: string[] = [];
    const s = open();
    expect(s.load(2, (e) => seen.push(e.v))).toBe(3);
    expect(seen).toEqual(["x", "y"]);
    expect(s.lastSeq).toBe(6);
    const t = open();
    rmSync(file);
    expect(t.load(9)).toBe(0);
    expect(t.lastSeq).toBe(9);
  });

  it("renumbers pending entries above a higher acked seq, and pages with a limit", () => {
    const s = open();
    s.load(0);
    s.append([
      { seq: 1, v: "a" },
      { seq: 2, v: "b" },
      { seq: 3, v: "c" },
    ]);
    const warned: unknown[] = [];
    expect(s.reconcile(1, (i) => warned.push(i))).toEqual({ dropped: 1, renumbered: 0 });
    expect(warned).toEqual([]);
    expect(s.reconcile(10, (i) => warned.push(i))).toEqual({ dropped: 0, renumbered: 2 });
    expect(warned).toEqual([{ ackedSeq: 10, lastSeq: 3, pending: 2 }]);
    expect(s.pending().map((e) => [e.seq, e.v])).toEqual([
      [11, "b"],
      [12, "c"],
    ]);
    expect(s.lastSeq).toBe(12);
    expect(s.pending(0, 1).map((e) => e.seq)).toEqual([11]);
    expect(s.pending(11).map((e) => e.seq)).toEqual([12]);
    s.retain((e) => e.v === "c");
    expect(lines()).toEqual([JSON.stringify({ seq: 12, v: "c" })]);
    s.close();
  });
});
