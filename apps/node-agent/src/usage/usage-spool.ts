/**
 * The usage spool: every usage sample the agent takes is numbered and appended to
 * <stateDir>/usage/spool.jsonl before it is sent, and stays there until the server acks its seq
 * (`usage_ack`). A kill -9 of the agent, a restart of the server or a cut link delays samples,
 * never loses them; the server ignores seqs it already stored, so a resend is never counted twice.
 *
 * fsync policy: one write + one fsync per sampling round (all containers of a tick in one
 * append), plus an atomic rewrite (temp file, fsync, rename, fsync dir) when acked samples are
 * dropped. A crash can tear only the last line, which the next load skips. The numbering,
 * appending, acking and compaction are ../control/seq-spool.ts's, shared with the event outbox.
 *
 * The spool also owns each container's running memory integral: memory in use is only a level,
 * so the agent integrates it between readings (trapezoids) and sends the cumulative byte-seconds.
 * The last reading per container survives restarts in <stateDir>/usage/state.json (rewritten
 * with the spool) plus the spool itself, so an agent restarted after a kill bridges the gap.
 * It also owns each container's monotonic network totals (net-totals.ts), kept in the same file.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { UsageSampleSchema, type UsageSample } from "@berth/core";
import { writeFileAtomicSync } from "../control/atomic-file";
import type { Logger } from "../control/logger";
import { SeqSpool } from "../control/seq-spool";
import { advanceNet, NetStateSchema, type NetState, type VethBytes } from "./net-totals";

/**
 * One reading of a container's counters, before numbering and integration. With `veths` (the
 * per-veth bytes), netRx/TxBytes are replaced by the container's monotonic totals.
 */
export type UsageReading = Omit<UsageSample, "seq" | "memByteSec"> & {
  veths?: Record<string, VethBytes>;
};

const LastSchema = z.object({
  seq: z.number().int().nonnegative(),
  epoch: z.string(),
  at: z.number(),
  memBytes: z.number(),
  memByteSec: z.number(),
  /** The network totals last emitted: a floor for the totals after a restart. */
  netRxBytes: z.number().optional(),
  netTxBytes: z.number().optional(),
  final: z.boolean().optional(),
});
type Last = z.infer<typeof LastSchema>;
const StateFileSchema = z.object({
  lastSeq: z.number().int().nonnegative(),
  containers: z.record(z.string(), LastSchema),
  net: z.record(z.string(), NetStateSchema).optional(),
});

export const USAGE_DIR = "usage";
const SPOOL_FILE = "spool.jsonl";
const STATE_FILE = "state.json";
/** ≈ 300 bytes each on disk: 100 containers sampled every 10 s fill it in ≈ 3 hours. */
const DEFAULT_MAX_PENDING = 100_000;
/** A container's last reading is forgotten this long after its final sample. */
const FORGET_FINAL_MS = 10 * 60_000;
/**
 * A container's network totals outlive its final sample (a stopped container restarted later
 * continues them); they are forgotten this long after their last reading.
 */
const FORGET_NET_MS = 30 * 86_400_000;

export class UsageSpool {
  private readonly spool: SeqSpool<UsageSample>;
  private readonly last = new Map<string, Last>();
  private readonly net = new Map<string, NetState>();
  private readonly file: string;
  private readonly stateFile: string;
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly dir: string,
    private readonly log: Logger,
    private readonly maxPending: number,
  ) {
    this.file = join(dir, SPOOL_FILE);
    this.stateFile = join(dir, STATE_FILE);
    this.spool = new SeqSpool({
      file: this.file,
      schema: UsageSampleSchema,
      writeState: (lastSeq) => this.writeState(lastSeq),
    });
  }

  /**
   * Loads (or creates) the spool under `<stateDir>/usage`. Beyond `maxPending` unacked samples
   * (a long outage) it thins itself: samples are cumulative, so dropping every other sample of
   * a run (never its last or final one) loses time resolution, never usage.
   */
  static open(stateDir: string, log: Logger, opts: { maxPending?: number } = {}): UsageSpool {
    const dir = join(stateDir, USAGE_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const s = new UsageSpool(dir, log, opts.maxPending ?? DEFAULT_MAX_PENDING);
    s.load();
    return s;
  }

  private load(): void {
    let seq = 0;
    try {
      const r = StateFileSchema.safeParse(JSON.parse(readFileSync(this.stateFile, "utf8")));
      if (r.success) {
        seq = r.data.lastSeq;
        for (const [id, l] of Object.entries(r.data.containers)) this.last.set(id, l);
        for (const [id, n] of Object.entries(r.data.net ?? {})) this.net.set(id, n);
      } else this.log.warn("usage: ignoring a malformed state file", { path: this.stateFile });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        this.log.warn("usage: cannot read the state file", { error: (e as Error).message });
    }
    const skipped = this.spool.load(seq, (s) => this.remember(s));
    if (skipped > 0) {
      this.log.warn("usage: skipped unreadable spool lines", { path: this.file, skipped });
      this.spool.rewrite();
    }
  }

  private remember(s: UsageSample): void {
    // The state file may be newer than a pending line replayed over it at load.
    if ((this.last.get(s.containerId)?.seq ?? 0) >= s.seq) return;
    this.last.set(s.containerId, {
      seq: s.seq,
      epoch: s.epoch,
      at: s.at,
      memBytes: s.memBytes,
      memByteSec: s.memByteSec,
      netRxBytes: s.netRxBytes,
      netTxBytes: s.netTxBytes,
      ...(s.final ? { final: true } : {}),
    });
  }

  /**
   * Numbers, integrates and durably appends a round of readings; returns the samples written.
   * A reading older than the container's last one (a tick that raced the exit's final sample)
   * or after the final sample of its epoch is dropped.
   */
  record(readings: readonly UsageReading[]): UsageSample[] {
    const out: UsageSample[] = [];
    let seq = this.spool.lastSeq;
    const staged = new Map<string, Last>();
    const stagedNet = new Map<string, NetState>();
    for (const { veths, ...r } of readings) {
      const prev = staged.get(r.containerId) ?? this.last.get(r.containerId);
      let memByteSec: number;
      if (prev && prev.epoch === r.epoch) {
        if (r.at <= prev.at || prev.final) continue;
        memByteSec =
          prev.memByteSec + ((prev.memBytes + r.memBytes) / 2) * ((r.at - prev.at) / 1000);
      } else {
        // First reading of this run: memory grew from 0 since the process started.
        const started = Date.parse(r.epoch);
        const dt = Number.isFinite(started) ? Math.max(0, r.at - started) / 1000 : 0;
        memByteSec = (r.memBytes / 2) * dt;
      }
      if (veths) {
        const n = advanceNet(
          stagedNet.get(r.containerId) ?? this.net.get(r.containerId),
          veths,
          r.at,
        );
        // Never below what was sent (state older than the replayed spool, after a crash).
        n.rx = Math.max(n.rx, prev?.netRxBytes ?? 0);
        n.tx = Math.max(n.tx, prev?.netTxBytes ?? 0);
        stagedNet.set(r.containerId, n);
        r.netRxBytes = n.rx;
        r.netTxBytes = n.tx;
      }
      const sample: UsageSample = { ...r, seq: ++seq, memByteSec: Math.round(memByteSec) };
      out.push(sample);
      staged.set(r.containerId, {
        seq: sample.seq,
        epoch: r.epoch,
        at: r.at,
        memBytes: r.memBytes,
        memByteSec: sample.memByteSec,
        netRxBytes: r.netRxBytes,
        netTxBytes: r.netTxBytes,
        ...(r.final ? { final: true } : {}),
      });
    }
    if (out.length === 0) return out;
    this.spool.append(out);
    for (const s of out) this.remember(s);
    for (const [id, n] of stagedNet) this.net.set(id, n);
    if (this.spool.size > this.maxPending) this.thin();
    for (const l of this.listeners) l();
    return out;
  }

  /** Drops every other pending sample of each run, keeping each run's last and final ones. */
  private thin(): void {
    const before = this.spool.size;
    const run = (e: UsageSample) => `${e.containerId}|${e.epoch}`;
    const last = new Map<string, number>();
    this.spool.all.forEach((e, i) => last.set(run(e), i));
    const seen = new Map<string, number>();
    this.spool.retain((e, i) => {
      if (e.final || last.get(run(e)) === i) return true;
      const n = (seen.get(run(e)) ?? 0) + 1;
      seen.set(run(e), n);
      return n % 2 === 0;
    });
    this.log.warn("usage: too many unacked samples; thinned the spool (totals are kept)", {
      before,
      after: this.spool.size,
    });
  }

  /** Drops every sample with seq ≤ `seq` and compacts the files. Returns how many were dropped. */
  ack(seq: number): number {
    return this.spool.ack(seq);
  }

  /**
   * On connect: the server stored up to `ackedSeq`. Normally ≤ lastSeq; if higher (this agent's
   * state was lost), pending samples are renumbered above it so none is ignored as a repeat.
   */
  reconcile(ackedSeq: number): { dropped: number; renumbered: number } {
    return this.spool.reconcile(ackedSeq, (info) =>
      this.log.warn("usage: the server acked a seq this agent never issued; renumbering", info),
    );
  }

  /** Pending samples with seq > `after`, in order, at most `limit`. */
  pending(after = 0, limit = Infinity): UsageSample[] {
    return this.spool.pending(after, limit);
  }

  /** Called after every append (the client sends what is new). */
  onAppend(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
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

  /** Called by the spool's rewrite, before it rewrites the spool file. */
  private writeState(lastSeq: number): void {
    const now = Date.now();
    const pendingIds = new Set(this.spool.all.map((e) => e.containerId));
    for (const [id, l] of this.last)
      if (l.final && now - l.at > FORGET_FINAL_MS && !pendingIds.has(id)) this.last.delete(id);
    for (const [id, n] of this.net) if (now - n.at > FORGET_NET_MS) this.net.delete(id);
    // State first: if we crash between the two writes, seqs stay monotonic and the integrals
    // are at least as new as the spool (the spool's lines are replayed over them on load).
    writeFileAtomicSync(
      this.stateFile,
      JSON.stringify({
        lastSeq,
        containers: Object.fromEntries(this.last),
        net: Object.fromEntries(this.net),
      }) + "\n",
      0o600,
    );
  }
}
