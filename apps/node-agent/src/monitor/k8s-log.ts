/**
 * conmon's k8s-file log format: one record per line, `<RFC3339Nano> <stdout|stderr> <F|P> <text>`
 * (P = partial: the monitor split a long line; F = full). The reader tails and follows it.
 */
import { watch, type FSWatcher } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import { DomainError, type LogLine } from "@berth/core";
import { isErrno } from "../sys/fs";

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
  let pos = size;
  let newlines = 0;
  const buf = Buffer.alloc(CHUNK);
  // A trailing newline ends the last record; it does not start a new one.
  let skipLast = true;
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        skipLast = false;
        continue;
      }
      if (skipLast) {
        skipLast = false;
        continue;
      }
      if (++newlines === n) return pos + i + 1;
    }
  }
  return 0;
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
}

/** Reads the log, calling onChunk with parsed lines, until EOF (or, with follow, until done and drained). */
export async function readK8sLog(
  path: string,
  opts: FollowOptions,
  onChunk: (lines: LogLine[]) => void,
): Promise<void> {
  let fh: FileHandle | undefined;
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  const poke = () => wake?.();
  try {
    while (!fh) {
      try {
        fh = await open(path, "r");
      } catch (e) {
        if (!isErrno(e, "ENOENT")) throw e;
        if (!opts.follow || opts.isDone()) return;
        await sleepOrWake(opts.pollMs ?? 250, opts.signal, (w) => (wake = w));
        if (opts.signal.aborted) return;
      }
    }
    let pos = opts.tail !== undefined ? await tailOffset(fh, (await fh.stat()).size, opts.tail) : 0;
    if (opts.follow) {
      try {
        watcher = watch(path, { persistent: false }, poke);
        watcher.on("error", () => undefined);
      } catch {
        /* the poll covers it */
      }
      opts.signal.addEventListener("abort", poke, { once: true });
      void opts.done?.then(poke, poke);
    }
    let rest = "";
    const buf = Buffer.alloc(CHUNK);
    const keep = timeFilter(opts.since, opts.until);
    const untilMs = opts.until === undefined ? null : Date.parse(opts.until);
    for (;;) {
      if (opts.signal.aborted) return;
      // Checked before reading: whatever was written before `done` is still read below.
      const doneBefore = opts.isDone();
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        rest += buf.subarray(0, bytesRead).toString("utf8");
        const parts = rest.split("\n");
        rest = parts.pop() ?? "";
        const lines: LogLine[] = [];
        for (const p of parts) {
          const l = parseK8sLogLine(p);
          if (l && (!keep || keep(l))) lines.push(l);
          if (lines.length >= MAX_LINES_PER_CHUNK) onChunk(lines.splice(0));
        }
        if (lines.length) onChunk(lines);
        continue;
      }
      if (!opts.follow || doneBefore) return;
      // Past `until` nothing more can match: the next read drains what is written, then stop.
      if (untilMs !== null && Date.now() > untilMs + 1000) return;
      await sleepOrWake(opts.pollMs ?? 250, opts.signal, (w) => (wake = w));
    }
  } finally {
    watcher?.close();
    await fh?.close();
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
