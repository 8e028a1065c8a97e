/**
 * Writes log chunks like `docker logs`: stdout lines to stdout, stderr lines to stderr, in order,
 * with one write per run of same-stream lines; `-t` prefixes each line with its timestamp.
 * Partial lines (full=false) are written without a newline and continued by the next line.
 */
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
}
