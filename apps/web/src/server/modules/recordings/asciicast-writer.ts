/**
 * Writes an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header
 * line, then one JSON array per event, `[seconds since start, "o" | "r" | "m", data]`. Data is
 * JSON-escaped (control characters such as ESC become \u001b), times are monotonic seconds with
 * microsecond precision.
 *
 * The output is capped at `maxBytes` (UTF-8 bytes of "o" data): the chunk that crosses the cap
 * is cut at a character boundary, then a visible notice ("o") and a marker ("m") end the
 * recording; later output is dropped (and counted only in `droppedBytes`). Resizes are always
 * small and kept until the end. Input is never written here.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import type { AsciicastHeader } from "@berth/core";

export const TRUNCATED_MARKER = "truncated";

export interface AsciicastWriterOptions {
  maxBytes: number;
  /** Monotonic milliseconds (performance.now by default). */
  now?: () => number;
}

export interface AsciicastTotals {
  /** Output bytes written (≤ maxBytes). */
  bytes: number;
  truncated: boolean;
  droppedBytes: number;
}

/** The longest prefix of `s` whose UTF-8 encoding fits `budget` bytes (never half a character). */
export function utf8Prefix(s: string, budget: number): string {
  if (budget <= 0) return "";
  const buf = Buffer.from(s, "utf8");
  if (buf.length <= budget) return s;
  let end = budget;
  // Back up to the start of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8");
}

export class AsciicastWriter {
  private readonly out: WriteStream;
  private readonly start: number;
  private readonly now: () => number;
  private readonly maxBytes: number;
  private bytes = 0;
  private truncated = false;
  private dropped = 0;
  private closed: Promise<void> | null = null;
  private failure: Error | null = null;

  constructor(path: string, header: AsciicastHeader, opts: AsciicastWriterOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.maxBytes = opts.maxBytes;
    this.out = createWriteStream(path, { flags: "wx", mode: 0o600 });
    this.out.on("error", (e) => (this.failure ??= e));
    this.out.write(`${JSON.stringify(header)}\n`);
  }

  private line(kind: "o" | "r" | "m", data: string): void {
    const t = Math.max(0, Math.round((this.now() - this.start) * 1000) / 1e6);
    this.out.write(`${JSON.stringify([t, kind, data])}\n`);
  }

  /** Output of the session (stdout, or stderr without a tty). */
  output(data: string): void {
    if (this.closed || data === "") return;
    if (this.truncated) {
      this.dropped += Buffer.byteLength(data, "utf8");
      return;
    }
    const size = Buffer.byteLength(data, "utf8");
    if (this.bytes + size <= this.maxBytes) {
      this.bytes += size;
      this.line("o", data);
      return;
    }
    const head = utf8Prefix(data, this.maxBytes - this.bytes);
    const headBytes = Buffer.byteLength(head, "utf8");
    if (head !== "") this.line("o", head);
    this.bytes += headBytes;
    this.dropped += size - headBytes;
    this.truncated = true;
    this.line("o", `\r\n\x1b[7m[berth: recording stopped at ${this.maxBytes} bytes]\x1b[0m\r\n`);
    this.line("m", TRUNCATED_MARKER);
  }

  /** The terminal was resized. */
  resize(cols: number, rows: number): void {
    if (this.closed) return;
    this.line("r", `${cols}x${rows}`);
  }

  get totals(): AsciicastTotals {
    return { bytes: this.bytes, truncated: this.truncated, droppedBytes: this.dropped };
  }

  /** Flushes and closes the file; rejects if writing failed. */
  close(): Promise<AsciicastTotals> {
    this.closed ??= new Promise<void>((resolve) => this.out.end(resolve));
    return this.closed.then(() => {
      if (this.failure) throw this.failure;
      return this.totals;
    });
  }
}
