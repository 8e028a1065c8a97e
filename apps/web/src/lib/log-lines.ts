import type { LogLine } from "@berth/core";

/** One line as the log viewer shows it: partial lines of a stream are joined back together. */
export interface DisplayLine {
  /** Position since the stream began; stable React key even after old lines are dropped. */
  seq: number;
  ts: string;
  stream: LogLine["stream"];
  text: string;
  /** false while the monitor still owes the rest of this line. */
  complete: boolean;
}

export interface LogBuffer {
  lines: DisplayLine[];
  nextSeq: number;
  /** Lines dropped from the front to respect the cap. */
  dropped: number;
}

export const emptyLogBuffer = (): LogBuffer => ({ lines: [], nextSeq: 0, dropped: 0 });

/**
 * Appends a chunk of log lines, joining a partial line (full=false) with the next line of the
 * same stream, and keeps at most `max` lines. Returns a new buffer; the input is not mutated.
 */
export function appendLogLines(buf: LogBuffer, chunk: readonly LogLine[], max = 5000): LogBuffer {
  if (chunk.length === 0) return buf;
  const lines = buf.lines.slice();
  let nextSeq = buf.nextSeq;
  // The last incomplete line of each stream, by index in `lines`.
  const open = new Map<LogLine["stream"], number>();
  for (let i = lines.length - 1; i >= 0 && open.size < 2; i--) {
    const l = lines[i]!;
    if (!l.complete && !open.has(l.stream)) open.set(l.stream, i);
  }
  for (const l of chunk) {
    const idx = open.get(l.stream);
    const full = l.full !== false;
    if (idx !== undefined) {
      const prev = lines[idx]!;
      lines[idx] = { ...prev, text: prev.text + l.line, complete: full };
      if (full) open.delete(l.stream);
      continue;
    }
    lines.push({ seq: nextSeq++, ts: l.ts, stream: l.stream, text: l.line, complete: full });
    if (!full) open.set(l.stream, lines.length - 1);
  }
  const excess = Math.max(0, lines.length - max);
  return { lines: excess ? lines.slice(excess) : lines, nextSeq, dropped: buf.dropped + excess };
}

/**
 * The log viewer's buffer for big logs: mutated in place (a chunk costs O(chunk), not a copy of
 * everything kept), at most `max` lines kept; lines dropped from the front are counted so the
 * view can say so. Partial lines are joined as appendLogLines does.
 */
export class LogStore {
  lines: DisplayLine[] = [];
  nextSeq = 0;
  dropped = 0;
  /** Bumped on every change, for React to notice. */
  version = 0;
  private readonly open = new Map<LogLine["stream"], DisplayLine>();

  constructor(readonly max = 100_000) {}

  clear(): void {
    this.lines = [];
    this.nextSeq = 0;
    this.dropped = 0;
    this.open.clear();
    this.version++;
  }

  push(chunk: readonly LogLine[]): void {
    if (chunk.length === 0) return;
    for (const l of chunk) {
      const full = l.full !== false;
      const prev = this.open.get(l.stream);
      if (prev) {
        prev.text += l.line;
        prev.complete = full;
        if (full) this.open.delete(l.stream);
        continue;
      }
      const line: DisplayLine = {
        seq: this.nextSeq++,
        ts: l.ts,
        stream: l.stream,
        text: l.line,
        complete: full,
      };
      this.lines.push(line);
      if (!full) this.open.set(l.stream, line);
    }
    // Drop in batches of 10 % so a full buffer does not shift on every chunk.
    if (this.lines.length > this.max) {
      const excess = this.lines.length - Math.floor(this.max * 0.9);
      const gone = this.lines.splice(0, excess);
      this.dropped += excess;
      for (const [k, v] of this.open) if (gone.includes(v)) this.open.delete(k);
    }
    this.version++;
  }
}
