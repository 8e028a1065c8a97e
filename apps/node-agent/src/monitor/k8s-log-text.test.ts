import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogTextSchema, logLineMatcher, logTextRuns, type LogText } from "@berth/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseK8sLogLine } from "./k8s-log";
import { K8sTextPacker, readLogText } from "./k8s-log-text";
import { plainLogSource } from "./log-rotation";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-logtext-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const TS = "2026-01-01T00:00:01.123456789+00:00";
const rec = (text: string, stream = "stdout", tag = "F", ts = TS) =>
  `${ts} ${stream} ${tag} ${text}\n`;

/** Feeds `bytes` to a packer in writes of `step` bytes; the batches it sealed, all validated. */
function pack(
  bytes: Buffer,
  step = bytes.length,
  o: ConstructorParameters<typeof K8sTextPacker>[0] = {},
): LogText[] {
  const p = new K8sTextPacker(o);
  const out: LogText[] = [];
  for (let i = 0; i < bytes.length; i += step) {
    // A reused read buffer: stale bytes past `to` must never be read.
    const buf = Buffer.alloc(step + 64, "x\n ");
    const n = bytes.copy(buf, 0, i, Math.min(bytes.length, i + step));
    p.write(buf, 0, n);
    p.flush(false);
    out.push(...p.take());
  }
  p.finish();
  out.push(...p.take());
  for (const b of out) expect(LogTextSchema.safeParse(b).success).toBe(true);
  return out;
}

/** What each stream shows, and the records counted. */
function streams(batches: LogText[]) {
  const r = { stdout: "", stderr: "", n: 0, runs: "" };
  for (const b of batches) {
    r.n += b.n;
    for (const [s, t] of logTextRuns(b)) {
      r[s] += t;
      r.runs += s === "stdout" ? "o" : "e";
    }
  }
  return r;
}

/** The same through the line parser readLog uses (the reference). */
function reference(text: string) {
  const r = { stdout: "", stderr: "", n: 0 };
  for (const raw of text.split("\n").slice(0, -1)) {
    const l = parseK8sLogLine(raw);
    if (!l) continue;
    r.n++;
    r[l.stream] += l.full ? `${l.line}\n` : l.line;
  }
  return r;
}

describe("K8sTextPacker", () => {
  it("copies full stdout records into one run", () => {
    const got = pack(Buffer.from(rec("1") + rec("22") + rec("") + rec("last")));
    expect(got).toEqual([{ n: 4, runs: "o", ends: [11], text: "1\n22\n\nlast\n" }]);
  });

  it("joins partial (P) records with their rest, and keeps stderr apart, in order", () => {
    const log =
      rec("hel", "stdout", "P") +
      rec("oops", "stderr") +
      rec("lo", "stdout") +
      rec("a", "stderr", "P") +
      rec("b", "stderr");
    const [b] = pack(Buffer.from(log));
    expect(b).toEqual({
      n: 5,
      runs: "oeoe",
      ends: [3, 8, 11, 14],
      text: "heloops\nlo\nab\n",
    });
    expect(logTextRuns(b!)).toEqual([
      ["stdout", "hel"],
      ["stderr", "oops\n"],
      ["stdout", "lo\n"],
      ["stderr", "ab\n"],
    ]);
  });

  it("keeps CR, empty texts and a tag without text as the line parser does", () => {
    const log =
      rec("dos\r") +
      `${TS} stdout F\n` + // no space after the tag: an empty line
      `${TS} stderr F \n` +
      rec("x y  z");
    const got = streams(pack(Buffer.from(log)));
    expect(got).toMatchObject({ stdout: "dos\r\n\nx y  z\n", stderr: "\n", n: 4 });
    expect(got).toMatchObject(reference(log));
  });

  it("skips malformed lines, whatever their length, as the line parser does", () => {
    const log =
      "garbage\n" +
      rec("a") +
      "\n" +
      `${TS} stdin F nope\n` +
      `${TS} stdoutX F nope\n` +
      "nospace-at-all-but-long-enough-to-look-like-a-time-stamp\n" +
      rec("b", "stderr", "F", "2026-01-01T00:00:01Z") + // another time length
      `${TS} std\n` +
      rec("c");
    const got = streams(pack(Buffer.from(log)));
    expect(got).toMatchObject({ stdout: "a\nc\n", stderr: "b\n", n: 3 });
    expect(got).toMatchObject(reference(log));
  });

  it("gives the same output whatever the read chunks (records split across writes)", () => {
    let log = "";
    for (let i = 0; i < 300; i++) {
      const stream = i % 7 === 0 ? "stderr" : "stdout";
      const tag = i % 11 === 0 ? "P" : "F";
      log += rec(`line ${i} ${"é€".repeat(i % 5)}${"x".repeat((i * 37) % 90)}`, stream, tag);
    }
    const bytes = Buffer.from(log);
    const want = reference(log);
    for (const step of [1, 2, 3, 5, 7, 16, 63, 64, 100, 4096, bytes.length]) {
      const got = streams(pack(bytes, step));
      expect({ step, ...got, runs: undefined }).toEqual({ step, ...want, runs: undefined });
    }
  });

  it("keeps a multi-byte character whole across batches and across a P/F split", () => {
    // conmon may split a line inside a character: the P record ends with the first bytes of
    // "€" (e2 82 ac), the F record starts with the rest, and stderr writes in between.
    const euro = Buffer.from("€");
    const bytes = Buffer.concat([
      Buffer.from(`${TS} stdout P a`),
      euro.subarray(0, 2),
      Buffer.from("\n" + rec("err", "stderr") + `${TS} stdout F `),
      euro.subarray(2),
      Buffer.from("b\n"),
    ]);
    for (const step of [1, 5, bytes.length]) {
      const got = streams(pack(bytes, step));
      expect(got).toMatchObject({ stdout: "a€b\n", stderr: "err\n", n: 3 });
    }
    // Tiny batches: the character is split between two batches of the same stream.
    const small = pack(Buffer.from(rec("ééééé")), 1000, { batchBytes: 3 });
    expect(small.length).toBeGreaterThan(2);
    expect(streams(small).stdout).toBe("ééééé\n");
    expect(small.every((b) => !b.text.includes("\ufffd"))).toBe(true);
  });

  it("cuts long records and many records into batches of about batchBytes", () => {
    const long = "z".repeat(10_000);
    const log = rec("a") + rec(long) + rec("b", "stderr") + rec("c");
    const got = pack(Buffer.from(log), 1000, { batchBytes: 1024 });
    expect(got.length).toBeGreaterThanOrEqual(10);
    for (const b of got) expect(b.text.length).toBeLessThanOrEqual(1025);
    expect(streams(got)).toMatchObject({ stdout: `a\n${long}\nc\n`, stderr: "b\n", n: 4 });
  });

  it("filters by stream on the bytes, and by a LogLine predicate", () => {
    const log = rec("one") + rec("two", "stderr") + rec("three") + rec("four", "stderr");
    expect(streams(pack(Buffer.from(log), 7, { stream: "stderr" }))).toMatchObject({
      stdout: "",
      stderr: "two\nfour\n",
      n: 2,
    });
    const match = logLineMatcher({ pattern: "O", regex: false, ignoreCase: true });
    expect(
      streams(pack(Buffer.from(log), 9, { keep: (l) => l.ts === TS && match(l.line) })),
    ).toMatchObject({ stdout: "one\n", stderr: "two\nfour\n", n: 3 });
  });

  it("drops the start of a last record that never ended", () => {
    const got = streams(pack(Buffer.from(rec("a") + `${TS} stdout F unfinished`), 10));
    expect(got).toMatchObject({ stdout: "a\n", n: 1 });
  });
});

describe("readLogText", () => {
  const read = async (
    path: string,
    opts: Partial<Parameters<typeof readLogText>[1]> = {},
    batchBytes?: number,
  ) => {
    const batches: LogText[] = [];
    await readLogText(
      plainLogSource(path),
      { follow: false, isDone: () => true, signal: new AbortController().signal, ...opts },
      (b) => void batches.push(b),
      batchBytes,
    );
    return streams(batches);
  };

  it("reads a file with tail, since/until and the stream filter like readLog", async () => {
    const p = join(dir, "ctr.log");
    const t = (s: number) => `2026-01-01T00:00:0${s}.000000001+00:00`;
    writeFileSync(
      p,
      "\0\0\0\0" + // a punched hole at the start of a live file
        rec("1", "stdout", "F", t(1)) +
        rec("2", "stderr", "F", t(2)) +
        rec("3", "stdout", "F", t(3)) +
        rec("4", "stdout", "F", t(4)),
    );
    expect(await read(p)).toMatchObject({ stdout: "1\n3\n4\n", stderr: "2\n", n: 4 });
    expect(await read(p, { tail: 2 })).toMatchObject({ stdout: "3\n4\n", stderr: "", n: 2 });
    expect(await read(p, { stream: "stdout", tail: 3 })).toMatchObject({ stdout: "3\n4\n", n: 2 });
    expect(
      await read(p, { since: "2026-01-01T00:00:02Z", until: "2026-01-01T00:00:03.5Z" }),
    ).toMatchObject({ stdout: "3\n", stderr: "2\n", n: 2 });
  });

  it("reads a big file across many reads and batches", async () => {
    const p = join(dir, "big.log");
    let log = "";
    let want = "";
    for (let i = 0; i < 40_000; i++) {
      log += rec(String(i));
      want += `${i}\n`;
    }
    writeFileSync(p, log);
    const got = await read(p, {}, 4096);
    expect(got.stdout).toBe(want);
    expect(got.n).toBe(40_000);
  });
});
