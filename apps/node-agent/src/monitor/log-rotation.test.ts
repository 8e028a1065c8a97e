/**
 * Rotation and the multi-generation reader against real files in a temp dir (real fallocate
 * hole punching; no container: the writer is this test, appending like conmon does).
 */
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logTextRuns, type LogLine } from "@berth/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLog, type FollowOptions } from "./k8s-log";
import { readLogText } from "./k8s-log-text";
import { RotatingLog, rotationStatePath } from "./log-rotation";

let dir: string;
let path: string;
const opened: RotatingLog[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-logrot-"));
  path = join(dir, "ctr.log");
});
afterEach(async () => {
  for (const l of opened.splice(0)) await l.close();
  rmSync(dir, { recursive: true, force: true });
});

const BASE = Date.parse("2026-01-01T00:00:00Z");
/** Record i: one ms after record i-1, stdout for even i, padded to ~48 bytes. */
const rec = (i: number) =>
  `${new Date(BASE + i).toISOString()} ${i % 2 ? "stderr" : "stdout"} F line ${String(i).padStart(8, "0")}\n`;
const write = (from: number, to: number) => {
  let s = "";
  for (let i = from; i < to; i++) s += rec(i);
  appendFileSync(path, s);
};
const num = (l: LogLine) => Number(l.line.slice(5));
const logFiles = () => readdirSync(dir).filter((f) => f.startsWith("ctr.log"));

async function openLog(maxSize?: number, maxFile?: number): Promise<RotatingLog> {
  const l = await RotatingLog.open(path, maxSize === undefined ? undefined : { maxSize, maxFile }, {
    pollMs: 3_600_000,
  });
  opened.push(l);
  return l;
}

async function read(l: RotatingLog, o: Partial<FollowOptions> = {}): Promise<LogLine[]> {
  const out: LogLine[] = [];
  await readLog(
    l,
    { follow: false, isDone: () => true, signal: new AbortController().signal, ...o },
    (x) => out.push(...x),
  );
  return out;
}

/** The numbers from..to-1. */
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

describe("RotatingLog", () => {
  it("keeps at most max-file files of at most max-size, a gap-free suffix, and frees the disk", async () => {
    const l = await openLog(4096, 3);
    write(0, 2000); // ≈ 110 KiB
    await l.rotate();
    const files = logFiles();
    expect(files.length).toBeLessThanOrEqual(3);
    expect(files.length).toBe(3);
    const gens = l.snapshot().generations;
    expect(gens).toHaveLength(2);
    for (const g of gens) {
      const text = readFileSync(g.path, "utf8");
      expect(text.length).toBeLessThanOrEqual(4096);
      expect(text.length).toBeGreaterThan(4000);
      expect(text.endsWith("\n")).toBe(true);
    }
    // contiguous: each generation ends where the next begins, the last at the live start
    expect(gens[0]!.end).toBe(gens[1]!.start);
    expect(gens[1]!.end).toBe(l.snapshot().liveStart);
    const lines = (await read(l)).map(num);
    expect(lines.at(-1)).toBe(1999);
    expect(lines).toEqual(range(lines[0]!, 2000));
    expect(lines.length).toBeGreaterThan(2 * 80);
    // the live file keeps its offsets, but its rotated part no longer takes disk space
    const st = statSync(path);
    expect(st.size).toBe(2000 * rec(0).length);
    expect(st.blocks * 512).toBeLessThanOrEqual(4096 + 8192);
    expect(JSON.parse(readFileSync(rotationStatePath(path), "utf8"))).toEqual({
      version: 1,
      liveStart: l.snapshot().liveStart,
    });
  });

  it("rotates again and again as the writer appends, and a restarted agent resumes", async () => {
    let l = await openLog(8192, 4);
    for (let k = 0; k < 20; k++) {
      write(k * 100, (k + 1) * 100);
      await l.rotate();
      expect(logFiles().length).toBeLessThanOrEqual(4);
      const lines = (await read(l)).map(num);
      expect(lines).toEqual(range(lines[0]!, (k + 1) * 100));
    }
    const before = (await read(l)).map(num);
    await l.close();
    l = await openLog(8192, 4);
    expect((await read(l)).map(num)).toEqual(before);
    write(2000, 2300);
    await l.rotate();
    const after = (await read(l)).map(num);
    expect(after.at(-1)).toBe(2299);
    expect(after).toEqual(range(after[0]!, 2300));
  });

  it("max-file 1 keeps only the live file", async () => {
    const l = await openLog(4096, 1);
    write(0, 1000);
    await l.rotate();
    expect(logFiles()).toEqual(["ctr.log"]);
    const lines = (await read(l)).map(num);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).toEqual(range(lines[0]!, 1000));
    expect(statSync(path).blocks * 512).toBeLessThanOrEqual(4096 + 8192);
  });

  it("without a config it never rotates", async () => {
    const l = await openLog();
    write(0, 3000);
    await l.rotate();
    l.start();
    expect(logFiles()).toEqual(["ctr.log"]);
    expect(existsSync(rotationStatePath(path))).toBe(false);
    expect((await read(l)).map(num)).toEqual(range(0, 3000));
  });

  it("catches up far behind (agent was down) by copying only what it keeps", async () => {
    const l = await openLog(4096, 3);
    write(0, 20_000); // ≈ 1 MiB, 80× max-size
    await l.rotate();
    expect(logFiles().length).toBe(3);
    const lines = (await read(l)).map(num);
    expect(lines.at(-1)).toBe(19_999);
    expect(lines).toEqual(range(lines[0]!, 20_000));
    expect(lines.length).toBeLessThanOrEqual(3 * 4096);
  });

  it("repairs what a crash left: a generation past the recorded live start, a tmp copy", async () => {
    const l = await openLog(4096, 3);
    write(0, 1000);
    await l.rotate();
    const want = (await read(l)).map(num);
    const { liveStart } = l.snapshot();
    await l.close();
    // a copy written but not committed, and one interrupted
    writeFileSync(join(dir, `ctr.log.${liveStart}`), readFileSync(path).subarray(liveStart));
    writeFileSync(join(dir, `.ctr.log.${liveStart}.tmp`), "partial");
    const again = await openLog(4096, 3);
    expect(logFiles().sort()).not.toContain(`ctr.log.${liveStart}`);
    expect(readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(false);
    expect((await read(again)).map(num)).toEqual(want);
    // state file lost: the newest generation's end is the live start
    await again.close();
    rmSync(rotationStatePath(path));
    expect((await read(await openLog(4096, 3))).map(num)).toEqual(want);
  });
});

describe("readLog across generations", () => {
  it("tail counts back across files", async () => {
    const l = await openLog(4096, 5);
    write(0, 1000);
    await l.rotate();
    const all = (await read(l)).map(num);
    const live =
      readFileSync(path).subarray(l.snapshot().liveStart).toString().split("\n").length - 1;
    for (const n of [1, live, live + 1, live + 150, all.length, all.length + 10])
      expect((await read(l, { tail: n })).map(num)).toEqual(all.slice(-n));
    expect(await read(l, { tail: 0 })).toEqual([]);
  });

  it("since/until select across files, exactly", async () => {
    const l = await openLog(4096, 5);
    write(0, 1000);
    await l.rotate();
    const all = (await read(l)).map(num);
    const first = all[0]!;
    const lo = first + 10; // in the oldest generation
    const hi = 995; // in the live file
    const lines = await read(l, {
      since: new Date(BASE + lo).toISOString(),
      until: new Date(BASE + hi).toISOString(),
    });
    expect(lines.map(num)).toEqual(range(lo, hi + 1));
    expect(lines.map((x) => x.stream)).toEqual(
      range(lo, hi + 1).map((i) => (i % 2 ? "stderr" : "stdout")),
    );
  });

  it("a follower reads every line once, in order, through many rotations", async () => {
    const l = await openLog(4096, 2);
    write(0, 100);
    let done = false;
    const got: number[] = [];
    const following = readLog(
      l,
      { follow: true, isDone: () => done, signal: new AbortController().signal, pollMs: 5 },
      (x) => got.push(...x.map(num)),
    );
    // bursts larger than the reader's 64 KiB chunk, rotated while it is in the middle of them
    for (let k = 1; k <= 30; k++) {
      write(k * 1500 - 1400, k * 1500 + 100);
      void l.rotate();
      await new Promise((r) => setTimeout(r, k % 3));
    }
    await l.rotate();
    done = true;
    await following;
    // every line, including those rotated out of the kept files while it followed
    expect(got).toEqual(range(0, 45_100));
    expect(logFiles().length).toBeLessThanOrEqual(2);
    // the follower held the hole back; once it is gone the next pass frees the space
    await l.rotate();
    expect(statSync(path).blocks * 512).toBeLessThanOrEqual(4096 + 8192);
  });

  it("never punches the live file past a reader's hold", async () => {
    const l = await openLog(4096, 2);
    write(0, 100);
    const held = l.snapshot().liveStart;
    const h = l.hold(held);
    write(100, 3000);
    await l.rotate();
    expect(l.snapshot().liveStart).toBeGreaterThan(held + 100_000);
    // the bytes from the hold on are intact (a slow follower still reads them from ctr.log)
    const text = readFileSync(path).subarray(held).toString("utf8");
    expect(text.startsWith(rec(0))).toBe(true);
    expect(text.split("\n").length - 1).toBe(3000);
    h.release();
    await l.rotate();
    expect(
      readFileSync(path)
        .subarray(held, held + 4096)
        .every((b) => b === 0),
    ).toBe(true);
  });

  it("a reader that started in the old generations still sees a contiguous stream", async () => {
    const l = await openLog(4096, 3);
    write(0, 1000);
    await l.rotate();
    const lines: number[] = [];
    // rotate while the reader is in the middle of its work
    const reading = readLog(
      l,
      { follow: false, isDone: () => true, signal: new AbortController().signal },
      (x) => lines.push(...x.map(num)),
    );
    write(1000, 1400);
    await l.rotate();
    await reading;
    expect(lines).toEqual(range(lines[0]!, lines.at(-1)! + 1));
    expect(lines.at(-1)).toBeGreaterThanOrEqual(999);
  });
});

describe("readLogText across generations", () => {
  /** The text batches' output per stream, and the records counted. */
  async function readText(l: RotatingLog, o: Partial<Parameters<typeof readLogText>[1]> = {}) {
    const r = { stdout: "", stderr: "", n: 0 };
    await readLogText(
      l,
      { follow: false, isDone: () => true, signal: new AbortController().signal, ...o },
      (b) => {
        r.n += b.n;
        for (const [s, t] of logTextRuns(b)) r[s] += t;
      },
    );
    return r;
  }
  const asText = (lines: LogLine[]) => ({
    stdout: lines
      .filter((x) => x.stream === "stdout")
      .map((x) => `${x.line}\n`)
      .join(""),
    stderr: lines
      .filter((x) => x.stream === "stderr")
      .map((x) => `${x.line}\n`)
      .join(""),
    n: lines.length,
  });

  it("reads, tails and filters across files like readLog", async () => {
    const l = await openLog(4096, 5);
    write(0, 1000);
    await l.rotate();
    expect(await readText(l)).toEqual(asText(await read(l)));
    for (const n of [1, 150, 10_000]) {
      expect(await readText(l, { tail: n })).toEqual(asText(await read(l, { tail: n })));
    }
    const since = new Date(BASE + 900).toISOString();
    const stderrOnly = await readText(l, { since, stream: "stderr" });
    expect(stderrOnly).toEqual(
      asText((await read(l, { since })).filter((x) => x.stream === "stderr")),
    );
    expect(stderrOnly.n).toBe(50);
  });

  it("a follower reads every line once, in order, through many rotations", async () => {
    const l = await openLog(4096, 2);
    write(0, 100);
    let done = false;
    let out = "";
    const following = readLogText(
      l,
      { follow: true, isDone: () => done, signal: new AbortController().signal, pollMs: 5 },
      (b) => {
        for (const [, t] of logTextRuns(b)) out += t;
      },
    );
    for (let k = 1; k <= 20; k++) {
      write(k * 1500 - 1400, k * 1500 + 100);
      void l.rotate();
      await new Promise((r) => setTimeout(r, k % 3));
    }
    await l.rotate();
    done = true;
    await following;
    expect(out).toBe(
      range(0, 30_100)
        .map((i) => `line ${String(i).padStart(8, "0")}\n`)
        .join(""),
    );
  });
});
