/**
 * The event outbox: every event the engine reports is numbered and appended (fsync'd) to
 * <stateDir>/outbox.jsonl before it is sent, and stays there until the server acks its seq.
 * The last seq ever issued is kept in <stateDir>/outbox-seq.json, written whenever the outbox
 * is compacted, so numbering stays monotonic across restarts even when the outbox is empty.
 * Synchronous I/O on purpose: events are rare and small, and order on disk is order of arrival.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { EventNameSchema, type EventName } from "@berth/core";
import { writeFileAtomicSync } from "./atomic-file";
import type { Logger } from "./logger";

export const OutboxEntrySchema = z.object({
  seq: z.number().int().positive(),
  name: EventNameSchema,
  at: z.string(),
  data: z.unknown(),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;
const SeqFileSchema = z.object({ lastSeq: z.number().int().nonnegative() });

export const OUTBOX_FILE = "outbox.jsonl";
export const OUTBOX_SEQ_FILE = "outbox-seq.json";

export class Outbox {
  private entries: OutboxEntry[] = [];
  private seq = 0;
  private fd: number | undefined;
  private readonly file: string;
  private readonly seqFile: string;

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.file = join(dir, OUTBOX_FILE);
    this.seqFile = join(dir, OUTBOX_SEQ_FILE);
  }

  /** Loads the outbox of `stateDir` (creating the directory if needed). */
  static open(stateDir: string, log: Logger): Outbox {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const o = new Outbox(stateDir, log);
    o.load();
    return o;
  }

  private load(): void {
    try {
      const r = SeqFileSchema.safeParse(JSON.parse(readFileSync(this.seqFile, "utf8")));
      if (r.success) this.seq = r.data.lastSeq;
      else this.log.warn("outbox: ignoring a malformed seq file", { path: this.seqFile });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        this.log.warn("outbox: cannot read the seq file", {
          path: this.seqFile,
          error: (e as Error).message,
        });
    }
    let text = "";
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    let skipped = 0;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let r: ReturnType<typeof OutboxEntrySchema.safeParse>;
      try {
        r = OutboxEntrySchema.safeParse(JSON.parse(line));
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
    }
    if (skipped > 0)
      this.log.warn("outbox: skipped unreadable lines", { path: this.file, skipped });
    this.seq = Math.max(this.seq, this.entries.at(-1)?.seq ?? 0);
    // Rewrite compactly so a torn tail never sits in front of new appends.
    if (skipped > 0) this.rewrite();
  }

  /** Appends an event durably and returns its entry. */
  append(name: EventName, data: unknown, at = new Date().toISOString()): OutboxEntry {
    const entry: OutboxEntry = { seq: this.seq + 1, name, at, data };
    const line = JSON.stringify(entry) + "\n";
    this.fd ??= openSync(this.file, "a", 0o600);
    writeSync(this.fd, line);
    fsyncSync(this.fd);
    this.seq = entry.seq;
    this.entries.push(entry);
    return entry;
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
   * The server says it stored up to `ackedSeq`. Normally ≤ lastSeq. If it is higher (the server
   * has seen seqs this agent never issued, e.g. the outbox-seq file was lost), the pending entries
   * are renumbered above it rather than dropped, so nothing is lost.
   */
  reconcile(ackedSeq: number): { dropped: number; renumbered: number } {
    if (ackedSeq <= this.seq) return { dropped: this.ack(ackedSeq), renumbered: 0 };
    this.log.warn(
      "outbox: the server acked a seq this agent never issued; renumbering pending events",
      {
        ackedSeq,
        lastSeq: this.seq,
        pending: this.entries.length,
      },
    );
    let next = ackedSeq;
    this.entries = this.entries.map((e) => ({ ...e, seq: ++next }));
    this.seq = next;
    this.rewrite();
    return { dropped: 0, renumbered: this.entries.length };
  }

  /** Pending entries with seq > `after`, in order. */
  pending(after = 0): readonly OutboxEntry[] {
    return after === 0 ? this.entries.slice() : this.entries.filter((e) => e.seq > after);
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

  private rewrite(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    // Seq file first: if we crash between the two writes, the seq is still monotonic.
    writeFileAtomicSync(this.seqFile, JSON.stringify({ lastSeq: this.seq }) + "\n", 0o600);
    writeFileAtomicSync(
      this.file,
      this.entries.map((e) => JSON.stringify(e) + "\n").join(""),
      0o600,
    );
  }

  /** For diagnostics. */
  get directory(): string {
    return this.dir;
  }
}
