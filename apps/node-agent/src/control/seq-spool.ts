/**
 * The append-only JSONL spool under the event outbox (./outbox.ts) and the usage spool
 * (../usage/usage-spool.ts): entries numbered by a monotonic `seq`, appended (one write + one
 * fsync per call) before they are sent, kept until the server acks their seq, then compacted
 * by an atomic rewrite. Each owner keeps its own side-car state file (at least the last seq
 * issued); `writeState` writes it, always before the spool, so seqs stay monotonic if a crash
 * falls between the two writes. A crash can tear only the last line, which `load` skips.
 * Synchronous I/O on purpose: order on disk is order of arrival.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import type { z } from "zod";
import { writeFileAtomicSync } from "./atomic-file";

export interface SeqSpoolOptions<E extends { seq: number }> {
  /** The JSONL file. */
  file: string;
  /** Validates each line at load. */
  schema: z.ZodType<E>;
  /** Writes the owner's side-car state for `lastSeq` (called first on every rewrite). */
  writeState: (lastSeq: number) => void;
}

export class SeqSpool<E extends { seq: number }> {
  private entries: E[] = [];
  private seq = 0;
  private fd: number | undefined;

  constructor(private readonly opts: SeqSpoolOptions<E>) {}

  /**
   * Reads the file (a missing one is empty), calling `onEntry` for each valid line in seq order;
   * torn, invalid or out-of-order lines are skipped. `lastSeq` becomes the larger of `stateSeq`
   * (from the side-car) and the last entry's. Returns how many lines were skipped: the owner
   * logs them and calls `rewrite()`, so a torn tail never sits in front of new appends.
   */
  load(stateSeq: number, onEntry: (e: E) => void = () => undefined): number {
    let text = "";
    try {
      text = readFileSync(this.opts.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    let skipped = 0;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let r: ReturnType<z.ZodType<E>["safeParse"]>;
      try {
        r = this.opts.schema.safeParse(JSON.parse(line));
      } catch {
        skipped++;
        continue;
      }
      // A torn last line (crash mid-append) or a duplicate is skipped; order stays by seq.
      if (!r.success || r.data.seq <= (this.entries.at(-1)?.seq ?? 0)) {
        skipped++;
        continue;
      }
      this.entries.push(r.data);
      onEntry(r.data);
    }
    this.seq = Math.max(stateSeq, this.entries.at(-1)?.seq ?? 0);
    return skipped;
  }

  /** Durably appends entries numbered lastSeq+1, lastSeq+2, … (one write, one fsync). */
  append(entries: readonly E[]): void {
    if (entries.length === 0) return;
    this.fd ??= openSync(this.opts.file, "a", 0o600);
    writeSync(this.fd, entries.map((e) => JSON.stringify(e) + "\n").join(""));
    fsyncSync(this.fd);
    this.seq = entries.at(-1)!.seq;
    this.entries.push(...entries);
  }

  /** Drops every entry with seq ≤ `seq` and compacts the file. Returns how many were dropped. */
  ack(seq: number): number {
    const before = this.entries.length;
    const keep = this.entries.filter((e) => e.seq > seq);
    if (keep.length === before) return 0;
    this.entries = keep;
    this.rewrite();
    return before - keep.length;
  }

  /**
   * The server says it stored up to `ackedSeq`. Normally ≤ lastSeq: acks. If it is higher (the
   * server has seen seqs this agent never issued: its state was lost), `warn` is called and the
   * pending entries are renumbered above it rather than dropped, so none is lost or ignored.
   */
  reconcile(
    ackedSeq: number,
    warn: (info: { ackedSeq: number; lastSeq: number; pending: number }) => void,
  ): { dropped: number; renumbered: number } {
    if (ackedSeq <= this.seq) return { dropped: this.ack(ackedSeq), renumbered: 0 };
    warn({ ackedSeq, lastSeq: this.seq, pending: this.entries.length });
    let next = ackedSeq;
    this.entries = this.entries.map((e) => ({ ...e, seq: ++next }));
    this.seq = next;
    this.rewrite();
    return { dropped: 0, renumbered: this.entries.length };
  }

  /** Keeps only the pending entries `keep` accepts, and compacts the file. */
  retain(keep: (e: E, i: number) => boolean): void {
    this.entries = this.entries.filter(keep);
    this.rewrite();
  }

  /** Pending entries with seq > `after`, in order, at most `limit`. */
  pending(after = 0, limit = Infinity): E[] {
    const out: E[] = [];
    for (const e of this.entries) {
      if (e.seq <= after) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Every pending entry, in order (not a copy: do not modify). */
  get all(): readonly E[] {
    return this.entries;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get size(): number {
    return this.entries.length;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Writes the side-car state, then the pending entries, each atomically. */
  rewrite(): void {
    this.close();
    this.opts.writeState(this.seq);
    writeFileAtomicSync(
      this.opts.file,
      this.entries.map((e) => JSON.stringify(e) + "\n").join(""),
      0o600,
    );
  }
}
