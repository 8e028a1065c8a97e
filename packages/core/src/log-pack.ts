/**
 * Packed log lines: a batch of lines as three strings instead of an array of objects, so a
 * million lines cost a few big string operations (split/join, JSON of a handful of strings) and
 * a few schema checks per batch, not a million of each. Used on the log path end to end
 * (agent → server `stream` frames, server → CLI / dashboard SSE chunks) when asked for with
 * `packed: true`; `{lines}` stays the default shape for older peers and tests.
 *
 *   ts      the lines' RFC 3339 times joined by "\n"; absent when the reader asked for no
 *           times (`timestamps: false`: a third of the bytes of a short-line log)
 *   streams one character per line: o = stdout, e = stderr; upper case (O, E) = partial line
 *   text    the lines' text joined by "\n" (a log record never contains "\n")
 */
import { z } from "zod";
import type { LogLine } from "./container";

export const PackedLogsSchema = z
  .object({
    n: z.number().int().nonnegative(),
    ts: z.string().optional(),
    streams: z.string().regex(/^[oeOE]*$/, "streams are o, e, O or E"),
    text: z.string(),
  })
  .refine((p) => p.streams.length === p.n, { message: "one stream character per line" });
export type PackedLogs = z.infer<typeof PackedLogsSchema>;

const CODE: Record<LogLine["stream"], [string, string]> = {
  stdout: ["o", "O"],
  stderr: ["e", "E"],
};

/** Accumulates lines into one PackedLogs; cheap per line (no object, no JSON). */
export class LogPacker {
  private ts: string[] = [];
  private text: string[] = [];
  private streams = "";
  /** Characters held (text + times), to size batches. */
  size = 0;

  /** `withTimes` false: the batches carry no `ts` (the reader prints none). */
  constructor(private readonly withTimes = true) {}

  get count(): number {
    return this.text.length;
  }

  add(ts: string, stream: LogLine["stream"], text: string, full: boolean): void {
    if (this.withTimes) this.ts.push(ts);
    this.text.push(text);
    this.streams += CODE[stream][full ? 0 : 1];
    this.size += (this.withTimes ? ts.length + 3 : 2) + text.length;
  }

  /** The batch so far; the packer is empty afterwards. */
  take(): PackedLogs {
    const p: PackedLogs = {
      n: this.text.length,
      ...(this.withTimes ? { ts: this.ts.join("\n") } : {}),
      streams: this.streams,
      text: this.text.join("\n"),
    };
    this.ts = [];
    this.text = [];
    this.streams = "";
    this.size = 0;
    return p;
  }
}

export function packLogLines(lines: readonly LogLine[]): PackedLogs {
  const p = new LogPacker();
  for (const l of lines) p.add(l.ts, l.stream, l.line, l.full !== false);
  return p.take();
}

/** The lines of a batch; throws when its parts do not agree on the line count. */
export function unpackLogLines(p: PackedLogs): LogLine[] {
  if (p.n === 0) return [];
  const ts = p.ts === undefined ? null : p.ts.split("\n");
  const text = p.text.split("\n");
  if ((ts !== null && ts.length !== p.n) || text.length !== p.n)
    throw new Error(
      `packed logs: ${p.n} lines announced, ${ts?.length} times, ${text.length} texts`,
    );
  const out: LogLine[] = new Array<LogLine>(p.n);
  for (let i = 0; i < p.n; i++) {
    const c = p.streams.charCodeAt(i);
    out[i] = {
      ts: ts === null ? "" : ts[i]!,
      // 'e' = 101, 'E' = 69
      stream: c === 101 || c === 69 ? "stderr" : "stdout",
      line: text[i]!,
      full: c === 111 || c === 101, // 'o', 'e'
    };
  }
  return out;
}

/**
 * The weight of a batch in the log stream's flow control: what the agent counts as sent and the
 * server acknowledges once its reader took the batch (`stream_input {ack}`), both from the batch
 * itself so they always agree.
 */
export function packedWeight(p: PackedLogs): number {
  return p.text.length + (p.ts?.length ?? 0) + p.n;
}

/** How far (in packedWeight units) the agent may run ahead of the server's last ack. */
export const LOG_FLOW_WINDOW = 8 * 1024 * 1024;
/** The server acknowledges at least this much at a time. */
export const LOG_FLOW_ACK_EVERY = 512 * 1024;
