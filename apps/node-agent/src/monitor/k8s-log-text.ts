/**
 * The fast path of `container.logs` for readers that print the log without times (`berth logs`,
 * the download): the k8s-file records are scanned as bytes and their texts copied straight into
 * a text batch (core log-text.ts) — no string, object or JSON per line. Consecutive records of
 * one stream form one run; a full record's text ends with "\n", a partial (P) one's does not,
 * so the next piece of its line simply follows.
 *
 * UTF-8: the output bytes of each stream go through that stream's own decoder, so a character
 * split across read chunks, across batches, or by conmon between a P record and its rest (even
 * with the other stream's records between them) stays whole.
 */
import { StringDecoder } from "node:string_decoder";
import type { LogLine, LogText } from "@berth/core";
import type { LogSource } from "./log-rotation";
import { readLogBytes, timeFilter, type FollowOptions, type LogByteSink } from "./k8s-log";

/** Text bytes per batch (a frame stays far below MAX_FRAME_BYTES even fully JSON-escaped). */
export const TEXT_BATCH_BYTES = 256 * 1024;

const SPACE = 0x20;
const NL = 0x0a;
const STDOUT = 0;
const STDERR = 1;

export interface TextSinkOptions {
  /** Only records of this stream. */
  stream?: "stdout" | "stderr" | undefined;
  /** Only records it keeps (search, since/until); a LogLine is built per record only then. */
  keep?: ((l: LogLine) => boolean) | null | undefined;
  batchBytes?: number;
}

/**
 * Turns k8s-file bytes into text batches. `write` the bytes in order (records may straddle
 * writes), `take` the sealed batches; `flush` seals what is held (and, at the very end, what
 * the decoders still hold).
 */
export class K8sTextPacker implements LogByteSink {
  private readonly batchBytes: number;
  private readonly only: number;
  private readonly keep: ((l: LogLine) => boolean) | null;
  /** The start of a record whose end was not written yet. */
  private carry: Buffer = Buffer.alloc(0);
  /** The length of the last record's time (conmon's is always the same). */
  private tsLen = -1;
  private out: Buffer;
  private outLen = 0;
  /** Where the open run starts in `out`, and its stream (-1: none). */
  private runStart = 0;
  private runStream = -1;
  private runs = "";
  private ends: number[] = [];
  private texts: string[] = [];
  private textLen = 0;
  private n = 0;
  private readonly decoders = [new StringDecoder("utf8"), new StringDecoder("utf8")];
  private readonly sealed: LogText[] = [];

  constructor(o: TextSinkOptions = {}) {
    this.batchBytes = o.batchBytes ?? TEXT_BATCH_BYTES;
    this.only = o.stream === undefined ? -1 : o.stream === "stdout" ? STDOUT : STDERR;
    this.keep = o.keep ?? null;
    this.out = Buffer.allocUnsafe(this.batchBytes + 1);
  }

  get midRecord(): boolean {
    return this.carry.length > 0;
  }

  write(buf: Buffer, from: number, to: number): void {
    let start = from;
    if (this.carry.length > 0) {
      const nl = buf.indexOf(NL, from);
      if (nl < 0 || nl >= to) {
        this.carry = Buffer.concat([this.carry, buf.subarray(from, to)]);
        return;
      }
      const rec = Buffer.concat([this.carry, buf.subarray(from, nl + 1)]);
      this.carry = Buffer.alloc(0);
      this.records(rec, 0, rec.length); // complete: anything left is a malformed line
      start = nl + 1;
    }
    const i = this.records(buf, start, to);
    if (i < to) this.carry = Buffer.from(buf.subarray(i, to));
  }

  /**
   * The records of bytes [i, to) of buf, `<time> <stdout|stderr> <tag> <text>\n` each, read as
   * parseK8sLogLine does (malformed lines are skipped); returns where the first incomplete
   * record starts (`to` when none). Native indexOf finds the time's end and a long text's end;
   * `buf` may hold stale bytes past `to`, so every find is checked against it.
   */
  private records(buf: Buffer, i: number, to: number): number {
    while (i < to) {
      const a = buf.indexOf(SPACE, i);
      if (a < 0 || a >= to) return i;
      if (a - i !== this.tsLen) {
        // An unusual time length: make sure no line without a space ends before it.
        const nl = buf.lastIndexOf(NL, a);
        if (nl >= i) {
          i = nl + 1;
          continue;
        }
        this.tsLen = a - i;
      }
      const b = a + 7;
      if (b >= to) return i;
      let stream = -1;
      if (buf[b] === SPACE && buf[a + 1] === 0x73 && buf[a + 2] === 0x74 && buf[a + 3] === 0x64) {
        // "std" then "out" or "err"
        if (buf[a + 4] === 0x6f && buf[a + 5] === 0x75 && buf[a + 6] === 0x74) stream = STDOUT;
        else if (buf[a + 4] === 0x65 && buf[a + 5] === 0x72 && buf[a + 6] === 0x72) stream = STDERR;
      }
      if (stream === -1) {
        const e = buf.indexOf(NL, a);
        if (e < 0 || e >= to) return i;
        i = e + 1; // not a record: skipped
        continue;
      }
      let c = b + 1;
      while (c < to && buf[c] !== SPACE && buf[c] !== NL) c++;
      if (c >= to) return i;
      let e = c;
      if (buf[c] === SPACE) {
        e = c + 1;
        const short = Math.min(to, e + 16);
        while (e < short && buf[e] !== NL) e++;
        if (e >= short) {
          if (short === to) return i;
          e = buf.indexOf(NL, e);
          if (e < 0 || e >= to) return i;
        }
      }
      const full = !(b + 1 < e && buf[b + 1] === 0x50); // a tag starting with P: partial
      this.record(buf, i, a, stream, c < e ? c + 1 : e, e, full);
      i = e + 1;
    }
    return i;
  }

  /** One record: time [s, a), text [textStart, e) of buf. */
  private record(
    buf: Buffer,
    s: number,
    a: number,
    stream: number,
    textStart: number,
    e: number,
    full: boolean,
  ): void {
    if (this.only !== -1 && stream !== this.only) return;
    if (
      this.keep &&
      !this.keep({
        ts: buf.toString("latin1", s, a),
        stream: stream === STDOUT ? "stdout" : "stderr",
        line: buf.toString("utf8", textStart, e),
        full,
      })
    )
      return;
    this.n++;
    if (stream !== this.runStream) this.closeRun(stream);
    const len = e - textStart;
    const need = len + (full ? 1 : 0);
    if (this.outLen + need <= this.out.length) {
      if (len <= 32) {
        const out = this.out;
        let o = this.outLen;
        for (let k = textStart; k < e; k++) out[o++] = buf[k]!;
        this.outLen = o;
      } else {
        this.outLen += buf.copy(this.out, this.outLen, textStart, e);
      }
    } else {
      // Bigger than what is left of the batch: in pieces (the decoder keeps characters whole).
      let k = textStart;
      while (k < e) {
        if (this.outLen >= this.batchBytes) this.seal();
        const take = Math.min(e - k, this.out.length - 1 - this.outLen);
        this.outLen += buf.copy(this.out, this.outLen, k, k + take);
        k += take;
      }
    }
    if (full) this.out[this.outLen++] = NL;
    if (this.outLen >= this.batchBytes) this.seal();
  }

  /** Ends the open run (decoding its bytes) and opens one of `next` (-1: none). */
  private closeRun(next: number): void {
    if (this.runStream !== -1) {
      const t =
        this.outLen > this.runStart
          ? this.decoders[this.runStream]!.write(this.out.subarray(this.runStart, this.outLen))
          : "";
      if (t.length > 0) {
        const last = this.runs.length - 1;
        if (last >= 0 && this.runs.charCodeAt(last) === (this.runStream === STDERR ? 101 : 111)) {
          this.ends[last] = this.textLen + t.length; // same stream as the previous run: merge
        } else {
          this.runs += this.runStream === STDERR ? "e" : "o";
          this.ends.push(this.textLen + t.length);
        }
        this.texts.push(t);
        this.textLen += t.length;
      }
    }
    this.runStart = this.outLen;
    this.runStream = next;
  }

  /** Seals the batch held so far (if any). */
  private seal(): void {
    const stream = this.runStream;
    this.closeRun(stream);
    if (this.n > 0 || this.textLen > 0) {
      this.sealed.push({
        n: this.n,
        runs: this.runs,
        ends: this.ends,
        text: this.texts.length === 1 ? this.texts[0]! : this.texts.join(""),
      });
    }
    this.outLen = 0;
    this.runStart = 0;
    this.runs = "";
    this.ends = [];
    this.texts = [];
    this.textLen = 0;
    this.n = 0;
  }

  endSegment(): void {
    // Generations are cut at record boundaries; a torn one's rest joins the next file's bytes.
  }

  /** Seals what is held when the read caught up (a follower must see its lines now). */
  flush(caughtUp: boolean): void {
    if (caughtUp) this.seal();
  }

  /** The end of the read: what the decoders hold (a torn character) goes out as U+FFFD. */
  finish(): void {
    this.seal();
    for (const stream of [STDOUT, STDERR]) {
      const t = this.decoders[stream]!.end();
      if (t.length > 0)
        this.sealed.push({ n: 0, runs: stream === STDERR ? "e" : "o", ends: [t.length], text: t });
    }
  }

  /** The batches sealed so far; the packer forgets them. */
  take(): LogText[] {
    return this.sealed.splice(0);
  }
}

/**
 * Reads a container's log as readLog does (tail, since/until, filters, follow, rotation), but
 * hands on text batches (core log-text.ts) instead of parsed lines. `opts.filter` is the search
 * (a LogLine predicate); the stream filter is `stream`, checked on the bytes.
 */
export async function readLogText(
  source: LogSource,
  opts: FollowOptions & { stream?: "stdout" | "stderr" | undefined },
  /** Awaited: a consumer that is behind slows the read down (back-pressure). */
  onBatch: (batch: LogText) => unknown,
  batchBytes?: number,
): Promise<void> {
  const byTime = timeFilter(opts.since, opts.until);
  const byLine = opts.filter;
  const keep =
    byTime && byLine ? (l: LogLine) => byTime(l) && byLine(l) : (byTime ?? byLine ?? null);
  const packer = new K8sTextPacker({ stream: opts.stream, keep, batchBytes });
  const sink: LogByteSink = {
    get midRecord() {
      return packer.midRecord;
    },
    write: (buf, from, to) => packer.write(buf, from, to),
    endSegment: () => packer.endSegment(),
    flush: async (caughtUp) => {
      packer.flush(caughtUp);
      for (const b of packer.take()) await onBatch(b);
    },
  };
  await readLogBytes(source, opts, sink);
  if (opts.signal.aborted) return;
  packer.finish();
  for (const b of packer.take()) await onBatch(b);
}
