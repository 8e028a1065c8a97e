/**
 * conmon's k8s-file log format: one record per line, `<RFC3339Nano> <stdout|stderr> <F|P> <text>`
 * (P = partial: the monitor split a long line; F = full). The reader tails and follows it, across
 * the generations of a rotated log (log-rotation.ts).
 */
import { watch, type FSWatcher } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { open, stat, type FileHandle } from "node:fs/promises";
import { DomainError, logLineMatcher, type LogGrep, type LogLine } from "@berth/core";
import { isErrno } from "../sys/fs";
import { plainLogSource, type LogSource } from "./log-rotation";

export function parseK8sLogLine(raw: string): LogLine | null {
  const a = raw.indexOf(" ");
  const b = raw.indexOf(" ", a + 1);
  const c = raw.indexOf(" ", b + 1);
  if (a < 0 || b < 0) return null;
  const stream = raw.slice(a + 1, b);
  if (stream !== "stdout" && stream !== "stderr") return null;
  const tag = c < 0 ? raw.slice(b + 1) : raw.slice(b + 1, c);
  const line = c < 0 ? "" : raw.slice(c + 1);
  return { ts: raw.slice(0, a), stream, line, full: !tag.startsWith("P") };
}

/**
 * An RFC 3339 instant (`2026-01-02T15:04:05.123456789+01:00`, or `Z`) as nanoseconds since the
 * epoch, exact to the nanosecond (a double cannot hold it); null when it is not one.
 */
export function timestampNs(ts: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** Keeps the lines whose time is within [since, until] (both optional, inclusive). */
export function timeFilter(
  since: string | undefined,
  until: string | undefined,
): ((l: LogLine) => boolean) | null {
  if (since === undefined && until === undefined) return null;
  const lo = since === undefined ? null : timestampNs(since);
  const hi = until === undefined ? null : timestampNs(until);
  if ((since !== undefined && lo === null) || (until !== undefined && hi === null))
    throw new DomainError(
      "invalid_input",
      `invalid log time ${JSON.stringify(lo === null ? since : until)}: expected RFC 3339`,
    );
  return (l) => {
    const t = timestampNs(l.ts);
    if (t === null) return true;
    return (lo === null || t >= lo) && (hi === null || t <= hi);
  };
}

const CHUNK = 64 * 1024;
const MAX_LINES_PER_CHUNK = 1000;

/** Byte offset where the last `n` records of the file begin. */
export async function tailOffset(fh: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  const scan: TailScan = { remaining: n, skipLast: true };
  return (await scanBack(fh, 0, size, scan)) ?? 0;
}

/** State of a backwards record count that spans several files. */
interface TailScan {
  /** Record starts still to pass. */
  remaining: number;
  /** The stream's very last byte, when a newline, ends the last record: it starts none. */
  skipLast: boolean;
}

/**
 * Scans `[from, to)` of a file backwards for record starts (just after a '\n'); returns the
 * offset where the `scan.remaining`-th one from the end begins, or null (with `remaining`
 * lowered) when the range holds fewer.
 */
async function scanBack(
  fh: FileHandle,
  from: number,
  to: number,
  scan: TailScan,
): Promise<number | null> {
  let pos = to;
  const buf = Buffer.alloc(CHUNK);
  while (pos > from) {
    const len = Math.min(CHUNK, pos - from);
    pos -= len;
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        scan.skipLast = false;
        continue;
      }
      if (scan.skipLast) {
        scan.skipLast = false;
        continue;
      }
      if (--scan.remaining === 0) return pos + i + 1;
    }
  }
  return null;
}

export interface FollowOptions {
  tail?: number | undefined;
  follow: boolean;
  /** True once the writer is done (container exited): the reader drains and stops. */
  isDone: () => boolean;
  signal: AbortSignal;
  pollMs?: number;
  /** Settles when the writer is done: wakes a follower at once instead of at its next poll. */
  done?: Promise<unknown>;
  /** RFC 3339: only lines at or after it. */
  since?: string | undefined;
  /** RFC 3339: only lines at or before it; a follow ends once the clock passed it. */
  until?: string | undefined;
  /** Only lines it keeps (stream filter, search): applied while reading, after tail. */
  filter?: ((l: LogLine) => boolean) | undefined;
}

/** The line filter of a `container.logs` request: its stream and search, or null for all. */
export function lineFilter(
  stream: "stdout" | "stderr" | undefined,
  grep: LogGrep | undefined,
): ((l: LogLine) => boolean) | null {
  const match = grep ? logLineMatcher(grep) : null;
  if (!stream && !match) return null;
  if (!match) return (l) => l.stream === stream;
  if (!stream) return (l) => match(l.line);
  return (l) => l.stream === stream && match(l.line);
}

/** Reads one log file (never rotated) as readLog does. */
export function readK8sLog(
  path: string,
  opts: FollowOptions,
  onChunk: (lines: LogLine[]) => unknown,
): Promise<void> {
  return readLog(plainLogSource(path), opts, onChunk);
}

/** One file of the stream: bytes `[from, end)` of `fh` (`end` null: the live file, growing). */
interface Segment {
  fh: FileHandle;
  from: number;
  end: number | null;
}

/**
 * What readLogBytes feeds the bytes of the log to, in order (records may straddle calls).
 * `buf` is reused once `write` returns.
 */
export interface LogByteSink {
  write(buf: Buffer, from: number, to: number): void;
  /** One generation file ended (the live file never does). */
  endSegment(): void;
  /**
   * Hands on what is complete; awaited (back-pressure). `caughtUp`: the read reached the end of
   * what is written for now (the reader is about to wait or stop), so nothing may be held back.
   */
  flush(caughtUp: boolean): unknown;
  /** True while the sink holds the start of a record (a live file's leading hole is skipped only at a record start). */
  readonly midRecord: boolean;
}

/** Bytes read per `read` of a log file. */
const READ_CHUNK = 256 * 1024;

/**
 * Reads a container's log across its generations (log-rotation.ts), oldest first, calling
 * onChunk with parsed lines, until the end (or, with follow, until done and drained). `tail`
 * counts back across generations; a follower reads the live file by offset, which rotation
 * never moves, so it sees every line once and in order whatever rotates meanwhile.
 */
export async function readLog(
  source: LogSource,
  opts: FollowOptions,
  /** Awaited: a consumer that is behind slows the read down (back-pressure). */
  onChunk: (lines: LogLine[]) => unknown,
): Promise<void> {
  const byTime = timeFilter(opts.since, opts.until);
  const byLine = opts.filter;
  const keep =
    byTime && byLine ? (l: LogLine) => byTime(l) && byLine(l) : (byTime ?? byLine ?? null);
  await readLogBytes(source, opts, new LineSink(keep, onChunk));
}

/** readLog's sink: records parsed into LogLine objects, at most MAX_LINES_PER_CHUNK a call. */
class LineSink implements LogByteSink {
  private rest = "";
  // One decoder per generation: a multi-byte character split across two reads stays whole.
  private decoder = new StringDecoder("utf8");
  private lines: LogLine[] = [];

  constructor(
    private readonly keep: ((l: LogLine) => boolean) | null,
    private readonly onChunk: (lines: LogLine[]) => unknown,
  ) {}

  get midRecord(): boolean {
    return this.rest !== "";
  }

  write(buf: Buffer, from: number, to: number): void {
    this.rest += this.decoder.write(buf.subarray(from, to));
    const parts = this.rest.split("\n");
    this.rest = parts.pop() ?? "";
    for (const p of parts) {
      const l = parseK8sLogLine(p);
      if (l && (!this.keep || this.keep(l))) this.lines.push(l);
    }
  }

  endSegment(): void {
    this.rest += this.decoder.end();
    this.decoder = new StringDecoder("utf8");
  }

  async flush(): Promise<void> {
    const lines = this.lines;
    this.lines = [];
    for (let i = 0; i < lines.length; i += MAX_LINES_PER_CHUNK)
      await this.onChunk(
        lines.length <= MAX_LINES_PER_CHUNK ? lines : lines.slice(i, i + MAX_LINES_PER_CHUNK),
      );
  }
}

/**
 * The byte loop under readLog and readLogText: opens the generations and the live file, finds
 * where `tail` starts, and feeds the bytes to `sink` in order, following the live file when
 * asked. The since/until and line filters are the sink's business; `until` also ends a follow.
 */
export async function readLogBytes(
  source: LogSource,
  opts: FollowOptions,
  sink: LogByteSink,
): Promise<void> {
  // Snapshot and hold in one synchronous step: the live bytes from liveStart stay readable.
  const snap = source.snapshot();
  const hold = source.hold(snap.liveStart);
  const segs: Segment[] = [];
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  const poke = () => wake?.();
  let live: FileHandle | undefined;
  try {
    while (!live) {
      try {
        live = await open(snap.livePath, "r");
      } catch (e) {
        if (!isErrno(e, "ENOENT")) throw e;
        if (!opts.follow || opts.isDone()) return;
        await sleepOrWake(opts.pollMs ?? 250, opts.signal, (w) => (wake = w));
        if (opts.signal.aborted) return;
      }
    }
    // Newest first: a generation pruned before we open it takes every older one with it, so
    // what we keep is always contiguous with the live file.
    for (let i = snap.generations.length - 1; i >= 0; i--) {
      const g = snap.generations[i]!;
      let fh: FileHandle;
      try {
        fh = await open(g.path, "r");
      } catch (e) {
        if (isErrno(e, "ENOENT")) break;
        throw e;
      }
      segs.unshift({ fh, from: 0, end: g.end - g.start });
    }
    segs.push({ fh: live, from: snap.liveStart, end: null });

    let seg = 0;
    let pos = segs[0]!.from;
    if (opts.tail !== undefined) {
      const scan: TailScan = { remaining: opts.tail, skipLast: true };
      seg = segs.length - 1;
      pos = (await live.stat()).size;
      if (opts.tail > 0) {
        for (; ; seg--) {
          const s = segs[seg]!;
          const found = await scanBack(s.fh, s.from, s.end ?? pos, scan);
          if (found !== null) {
            pos = found;
            break;
          }
          if (seg === 0) {
            pos = s.from;
            break;
          }
        }
      }
    }
    if (opts.follow) {
      try {
        watcher = watch(snap.livePath, { persistent: false }, poke);
        watcher.on("error", () => undefined);
      } catch {
        /* the poll covers it */
      }
      opts.signal.addEventListener("abort", poke, { once: true });
      void opts.done?.then(poke, poke);
    }
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const untilMs = opts.until === undefined ? null : Date.parse(opts.until);
    for (;;) {
      if (opts.signal.aborted) return;
      const s = segs[seg]!;
      if (s.end !== null && pos >= s.end) {
        sink.endSegment();
        seg++;
        pos = segs[seg]!.from;
        continue;
      }
      // Checked before reading: whatever was written before `done` is still read below.
      const doneBefore = opts.isDone();
      const want = s.end === null ? READ_CHUNK : Math.min(READ_CHUNK, s.end - pos);
      const { bytesRead } = await s.fh.read(buf, 0, want, pos);
      if (bytesRead > 0) {
        let from = 0;
        // A live file whose rotation state was lost starts with the punched hole: skip it.
        if (s.end === null && !sink.midRecord) while (from < bytesRead && buf[from] === 0) from++;
        pos += bytesRead;
        if (s.end === null) hold.pos = pos;
        sink.write(buf, from, bytesRead);
        await sink.flush(s.end === null && bytesRead < want);
        continue;
      }
      if (s.end !== null) {
        // A generation shorter than recorded (cannot happen with our own files): move on.
        pos = s.end;
        continue;
      }
      await sink.flush(true);
      if (!opts.follow || doneBefore) return;
      // Past `until` nothing more can match: the next read drains what is written, then stop.
      if (untilMs !== null && Date.now() > untilMs + 1000) return;
      await sleepOrWake(opts.pollMs ?? 250, opts.signal, (w) => (wake = w));
    }
  } finally {
    hold.release();
    watcher?.close();
    const fhs = new Set(segs.map((s) => s.fh));
    if (live) fhs.add(live);
    await Promise.all([...fhs].map((fh) => fh.close().catch(() => undefined)));
  }
}

function sleepOrWake(
  ms: number,
  signal: AbortSignal,
  setWake: (w: () => void) => void,
): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    setWake(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if (isErrno(e, "ENOENT")) return 0;
    throw e;
  }
}
