/**
 * Writes log chunks like `docker logs`: stdout lines to stdout, stderr lines to stderr, in order,
 * with one write per run of same-stream lines; `-t` prefixes each line with its timestamp.
 * Partial lines (full=false) are written without a newline and continued by the next line.
 */
import type { LogText, PackedLogs } from "@berth/core";
import type { LogChunk } from "../api/views";
import type { OutputStream } from "../context";

export class LogPrinter {
  private readonly midLine = { stdout: false, stderr: false };

  constructor(
    private readonly out: OutputStream,
    private readonly err: OutputStream,
    private readonly timestamps = false,
  ) {}

  write(chunk: LogChunk): void {
    if ("text" in chunk) return this.writeText(chunk.text);
    if ("packed" in chunk) return this.writePacked(chunk.packed);
    let current: "stdout" | "stderr" | null = null;
    let buf = "";
    const flush = () => {
      if (current !== null && buf !== "") (current === "stdout" ? this.out : this.err).write(buf);
      buf = "";
    };
    for (const l of chunk.lines) {
      if (l.stream !== current) {
        flush();
        current = l.stream;
      }
      if (this.timestamps && !this.midLine[l.stream]) buf += `${l.ts} `;
      buf += l.full ? `${l.line}\n` : l.line;
      this.midLine[l.stream] = !l.full;
    }
    flush();
  }

  /**
   * A text batch (asked for only without timestamps): each run is already the output, one write
   * each. A run ending without "\n" leaves its stream mid-line (a partial record).
   */
  private writeText(t: LogText): void {
    let from = 0;
    for (let i = 0; i < t.runs.length; i++) {
      const end = t.ends[i]!;
      if (end > from) {
        const stderr = t.runs.charCodeAt(i) === 101; // e
        const run = from === 0 && end === t.text.length ? t.text : t.text.slice(from, end);
        (stderr ? this.err : this.out).write(run);
        this.midLine[stderr ? "stderr" : "stdout"] = run.charCodeAt(run.length - 1) !== 10;
      }
      from = end;
    }
  }

  /** A packed batch: one write per run of same-stream lines, no object per line. */
  private writePacked(p: PackedLogs): void {
    if (p.n === 0) return;
    // The common case: whole stdout lines, no timestamps — the text is the output.
    if (!this.timestamps && !this.midLine.stdout && ALL_STDOUT_FULL.test(p.streams)) {
      this.out.write(`${p.text}\n`);
      return;
    }
    const text = p.text.split("\n");
    const ts = this.timestamps && p.ts !== undefined ? p.ts.split("\n") : [];
    let current: "stdout" | "stderr" | null = null;
    let buf = "";
    const flush = () => {
      if (current !== null && buf !== "") (current === "stdout" ? this.out : this.err).write(buf);
      buf = "";
    };
    for (let i = 0; i < p.n; i++) {
      const c = p.streams[i]!;
      const stream = c === "e" || c === "E" ? "stderr" : "stdout";
      const full = c === "o" || c === "e";
      if (stream !== current) {
        flush();
        current = stream;
      }
      if (this.timestamps && !this.midLine[stream]) buf += `${ts[i]} `;
      buf += full ? `${text[i]}\n` : text[i];
      this.midLine[stream] = !full;
    }
    flush();
  }
}

const ALL_STDOUT_FULL = /^o+$/;
