/**
 * The event outbox: every event the engine reports is numbered and appended (fsync'd) to
 * <stateDir>/outbox.jsonl before it is sent, and stays there until the server acks its seq.
 * The last seq ever issued is kept in <stateDir>/outbox-seq.json, written whenever the outbox
 * is compacted, so numbering stays monotonic across restarts even when the outbox is empty.
 * Synchronous I/O on purpose: events are rare and small, and order on disk is order of arrival.
 * The numbering, appending, acking and compaction are ./seq-spool.ts's, shared with the usage spool.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { EventNameSchema, type EventName } from "@berth/core";
import { writeFileAtomicSync } from "./atomic-file";
import type { Logger } from "./logger";
import { SeqSpool } from "./seq-spool";

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
  private readonly spool: SeqSpool<OutboxEntry>;
  private readonly file: string;
  private readonly seqFile: string;

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.file = join(dir, OUTBOX_FILE);
    this.seqFile = join(dir, OUTBOX_SEQ_FILE);
    this.spool = new SeqSpool({
      file: this.file,
      schema: OutboxEntrySchema,
      writeState: (lastSeq) =>
        writeFileAtomicSync(this.seqFile, JSON.stringify({ lastSeq }) + "\n", 0o600),
    });
  }

  /** Loads the outbox of `stateDir` (creating the directory if needed). */
  static open(stateDir: string, log: Logger): Outbox {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const o = new Outbox(stateDir, log);
    o.load();
    return o;
  }

  private load(): void {
    let seq = 0;
    try {
      const r = SeqFileSchema.safeParse(JSON.parse(readFileSync(this.seqFile, "utf8")));
      if (r.success) seq = r.data.lastSeq;
      else this.log.warn("outbox: ignoring a malformed seq file", { path: this.seqFile });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        this.log.warn("outbox: cannot read the seq file", {
          path: this.seqFile,
          error: (e as Error).message,
        });
    }
    const skipped = this.spool.load(seq);
    if (skipped > 0) {
      this.log.warn("outbox: skipped unreadable lines", { path: this.file, skipped });
      // Rewrite compactly so a torn tail never sits in front of new appends.
      this.spool.rewrite();
    }
  }

  /** Appends an event durably and returns its entry. */
  append(name: EventName, data: unknown, at = new Date().toISOString()): OutboxEntry {
    const entry: OutboxEntry = { seq: this.spool.lastSeq + 1, name, at, data };
    this.spool.append([entry]);
    return entry;
  }

  /** Drops every entry with seq ≤ `seq` and compacts the file. Returns how many were dropped. */
  ack(seq: number): number {
    return this.spool.ack(seq);
  }

  /**
   * The server says it stored up to `ackedSeq`. Normally ≤ lastSeq. If it is higher (the server
   * has seen seqs this agent never issued, e.g. the outbox-seq file was lost), the pending entries
   * are renumbered above it rather than dropped, so nothing is lost.
   */
  reconcile(ackedSeq: number): { dropped: number; renumbered: number } {
    return this.spool.reconcile(ackedSeq, (info) =>
      this.log.warn(
        "outbox: the server acked a seq this agent never issued; renumbering pending events",
        info,
      ),
    );
  }

  /** Pending entries with seq > `after`, in order. */
  pending(after = 0): readonly OutboxEntry[] {
    return this.spool.pending(after);
  }

  get lastSeq(): number {
    return this.spool.lastSeq;
  }

  get size(): number {
    return this.spool.size;
  }

  close(): void {
    this.spool.close();
  }

  /** For diagnostics. */
  get directory(): string {
    return this.dir;
  }
}
