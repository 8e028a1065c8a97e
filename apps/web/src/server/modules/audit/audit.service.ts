/**
 * The audit trail: one row per mutation attempt (denied ones included), login, token use and
 * exec session start/end, secrets redacted, every row sealed into a hash chain (audit-chain.ts).
 *
 * Writers append inside one `BEGIN IMMEDIATE` transaction (read the head, seal, insert), so two
 * processes writing to the same database cannot fork the chain: SQLite serialises them.
 * Retention archives rows older than N days to `<archiveDir>/audit-<from>-<to>.jsonl.gz` (first
 * line: the anchor the archive starts from; last line: its end) and records the last archived
 * row as the new, sealed anchor, so the rows left still verify.
 */
import { randomBytes } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { createGzip, gunzipSync } from "node:zlib";
import type { AuditEventView, AuditFilter, AuditListInput, AuditVerifyReport } from "@berth/core";
import { AuditListInputSchema } from "@berth/core";
import {
  and,
  asc,
  auditAnchors,
  auditEvents,
  desc,
  eq,
  gt,
  gte,
  isNull,
  like,
  lt,
  lte,
  or,
  sql,
  type AuditEvent,
  type Db,
} from "@berth/db";
import {
  GENESIS_HASH,
  sealAnchor,
  sealRecord,
  verifyChain,
  type ChainAnchor,
  type ChainRecord,
} from "./audit-chain";

const SECRET_KEYS =
  /pass(word|phrase)?$|^pass|token|secret|credential|cookie|authorization|private_?key|api_?key|access_?key|^auth$|^data$|^stdin$/i;
/** Names and ids of secrets are not secrets (`tokenId`, `secretName`). */
const NOT_SECRET_KEYS = /(_?id|_?ids|_?name|_?names)$/i;

function isSecretKey(k: string): boolean {
  return SECRET_KEYS.test(k) && !NOT_SECRET_KEYS.test(k);
}

/** Berth API tokens and session-looking secrets inside free text. */
const SECRET_VALUE = /berth_[A-Za-z0-9_-]{20,}/g;

/** Container environments carry secrets by habit: keep the names, drop the values. */
function redactEnv(env: unknown): unknown {
  if (!Array.isArray(env)) return "[redacted]";
  return env.map((e) =>
    typeof e === "string" && e.includes("=")
      ? `${e.slice(0, e.indexOf("="))}=[redacted]`
      : "[redacted]",
  );
}

/**
 * Deep copy of `value` with every secret-looking field replaced by "[redacted]", the values of
 * `env` lists (KEY=value) removed and berth tokens inside strings masked.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[truncated]";
  if (typeof value === "string") return value.replace(SECRET_VALUE, "berth_[redacted]");
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        isSecretKey(k) ? "[redacted]" : k === "env" ? redactEnv(v) : redactSecrets(v, depth + 1),
      ]),
    );
  }
  return value;
}

/** Serialized params longer than this are stored truncated (with a marker). */
export const MAX_AUDIT_PARAMS_CHARS = 16 * 1024;

/**
 * What the row's JSON column will give back: the value after a JSON round trip. Params whose
 * JSON is longer than MAX_AUDIT_PARAMS_CHARS become `{ truncated: true, length, preview }` (the
 * JSON's first characters); the hash chain seals what is stored.
 */
function asStoredJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  if (text.length > MAX_AUDIT_PARAMS_CHARS)
    return { truncated: true, length: text.length, preview: text.slice(0, MAX_AUDIT_PARAMS_CHARS) };
  return JSON.parse(text) as unknown;
}

const PAGE = 1000;
const HEAD_FILE = "chain-head";

export interface AuditEntry {
  actorId: string | null;
  actorName: string | null;
  teamId: string | null;
  action: string;
  target: string | null;
  params: unknown;
  result: "ok" | "denied" | "error";
  error: string | null;
  address: string | null;
}

/** Who reads the trail: administrators see every row, others their team's. */
export interface AuditReader {
  isAdmin: boolean;
  teamId: string | null;
}

export interface AuditServiceOptions {
  /** The chain key (32 bytes), asked at first use. Default: a random key per process (tests). */
  key?: () => Buffer;
  /**
   * Where retention writes archives. Default: none (retention refuses to run). The chain's head
   * seq is kept there too (`chain-head`, written at most once a second), so a restarted server
   * still notices that the newest rows were deleted while it was down.
   */
  archiveDir?: string;
  now?: () => Date;
}

export interface RetentionResult {
  archived: number;
  archive: string | null;
  anchor: ChainAnchor;
}

export function toAuditView(r: AuditEvent): AuditEventView {
  return {
    id: r.id,
    seq: r.seq,
    at: r.at.getTime(),
    actorId: r.actorId,
    actorName: r.actorName,
    teamId: r.teamId,
    action: r.action,
    target: r.target,
    params: r.params,
    result: r.result,
    error: r.error,
    address: r.address,
    hash: r.hash,
  };
}

export class AuditService {
  private key: Buffer | undefined;
  private append:
    | {
        head: { get(): { seq: number; hash: string } | undefined };
        insert: { run(values: Record<string, unknown>): unknown };
      }
    | undefined;
  private knownHeadSeq: number | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    private readonly options: AuditServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  private chainKey(): Buffer {
    if (!this.key) {
      const key = this.options.key?.() ?? randomBytes(32);
      if (key.length !== 32) throw new Error("the audit chain key must be 32 bytes");
      this.key = key;
    }
    return this.key;
  }

  /** The newest anchor (genesis when nothing was archived). */
  private anchor(): ChainAnchor & { seal?: string; archive?: string } {
    const a = this.db.select().from(auditAnchors).orderBy(desc(auditAnchors.seq)).limit(1).get();
    return a ? a : { seq: 0, hash: GENESIS_HASH };
  }

  /**
   * Rows written before the chain existed (an upgraded database) are sealed once, in id order,
   * while no row is chained yet. Afterwards an unchained row is an insertion.
   */
  private init(): void {
    if (this.knownHeadSeq !== undefined) return;
    this.db.transaction(
      (tx) => {
        const chained = tx
          .select({ seq: auditEvents.seq })
          .from(auditEvents)
          .where(sql`${auditEvents.seq} is not null`)
          .orderBy(desc(auditEvents.seq))
          .limit(1)
          .get();
        const anchored = tx.select().from(auditAnchors).limit(1).get();
        const persisted = this.readHead();
        // Sealing "legacy" rows only on a database that never had a chain: once the head file
        // says rows were chained, unchained rows are insertions.
        if (!chained && !anchored && persisted === 0) {
          const legacy = tx
            .select()
            .from(auditEvents)
            .where(isNull(auditEvents.seq))
            .orderBy(asc(auditEvents.id))
            .all();
          let prev: ChainAnchor = { seq: 0, hash: GENESIS_HASH };
          for (const row of legacy) {
            const fields = { ...row, seq: prev.seq + 1, prevHash: prev.hash };
            const hash = sealRecord(this.chainKey(), fields);
            tx.update(auditEvents)
              .set({ seq: fields.seq, prevHash: prev.hash, hash })
              .where(eq(auditEvents.id, row.id))
              .run();
            prev = { seq: fields.seq, hash };
          }
          this.knownHeadSeq = prev.seq;
        } else {
          this.knownHeadSeq = Math.max(chained?.seq ?? 0, persisted);
        }
      },
      { behavior: "immediate" },
    );
  }

  private headFile(): string | null {
    return this.options.archiveDir ? join(this.options.archiveDir, HEAD_FILE) : null;
  }

  private readHead(): number {
    const file = this.headFile();
    if (!file || !existsSync(file)) return 0;
    const seq = Number(readFileSync(file, "utf8").trim());
    return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
  }

  private scheduleHeadWrite(): void {
    if (!this.headFile() || this.headTimer) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      this.flushHead();
    }, 1000);
    this.headTimer.unref();
  }

  /** Writes the highest seq written so far to the head file (atomically). */
  flushHead(): void {
    const file = this.headFile();
    if (!file || this.knownHeadSeq === undefined) return;
    if (this.headTimer) clearTimeout(this.headTimer);
    this.headTimer = undefined;
    mkdirSync(this.options.archiveDir!, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${this.knownHeadSeq}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  }

  /**
   * The append's two statements, prepared once: it runs on every mutation, and building the
   * queries with drizzle each time cost ~5x the work itself. Columns as in schema.ts
   * (`at` epoch ms, `params` JSON text).
   */
  private appendStatements() {
    this.append ??= {
      head: this.db.$client.prepare<[], { seq: number; hash: string }>(
        "select seq, hash from audit_events where seq is not null and hash is not null order by seq desc limit 1",
      ),
      insert: this.db.$client.prepare(
        `insert into audit_events (at, actor_id, actor_name, team_id, action, target, params, result, error, address, seq, prev_hash, hash)
         values (@at, @actorId, @actorName, @teamId, @action, @target, @params, @result, @error, @address, @seq, @prevHash, @hash)`,
      ),
    };
    return this.append;
  }

  /** Appends a row to the chain; returns its seq and hash. */
  record(entry: AuditEntry): { seq: number; hash: string } {
    this.init();
    const key = this.chainKey();
    const params = entry.params === undefined ? null : asStoredJson(redactSecrets(entry.params));
    const at = this.now();
    const stmt = this.appendStatements();
    // BEGIN IMMEDIATE: the head read and the insert hold the write lock together.
    const append = this.db.$client.transaction(() => {
      const start = stmt.head.get() ?? this.anchor();
      const fields = { ...entry, params, at, seq: start.seq + 1, prevHash: start.hash };
      const hash = sealRecord(key, fields);
      stmt.insert.run({
        ...fields,
        at: at.getTime(),
        params: params === null ? null : JSON.stringify(params),
        hash,
      });
      return { seq: fields.seq, hash };
    });
    const out = append.immediate();
    this.knownHeadSeq = Math.max(this.knownHeadSeq ?? 0, out.seq);
    this.scheduleHeadWrite();
    return out;
  }

  private where(filter: AuditFilter, reader: AuditReader) {
    const conds = [];
    if (!reader.isAdmin) conds.push(eq(auditEvents.teamId, reader.teamId ?? "\u0000"));
    if (filter.user)
      conds.push(or(eq(auditEvents.actorName, filter.user), eq(auditEvents.actorId, filter.user)));
    if (filter.team) conds.push(eq(auditEvents.teamId, filter.team));
    if (filter.action)
      conds.push(like(auditEvents.action, `${filter.action.replace(/[\\%_]/g, "\\$&")}%`));
    if (filter.target)
      conds.push(
        sql`${auditEvents.target} like ${`%${filter.target.replace(/[\\%_]/g, "\\$&")}%`} escape '\\'`,
      );
    if (filter.result) conds.push(eq(auditEvents.result, filter.result));
    if (filter.from !== undefined) conds.push(gte(auditEvents.at, new Date(filter.from)));
    if (filter.to !== undefined) conds.push(lte(auditEvents.at, new Date(filter.to)));
    return conds;
  }

  /** Newest first, filtered; `nextCursor` continues with older rows. */
  list(
    reader: AuditReader,
    rawInput: AuditListInput = {},
  ): { items: AuditEventView[]; nextCursor: number | null } {
    const input = AuditListInputSchema.parse(rawInput);
    const conds = this.where(input, reader);
    if (input.cursor) conds.push(lt(auditEvents.id, input.cursor));
    const rows = this.db
      .select()
      .from(auditEvents)
      .where(and(...conds))
      .orderBy(desc(auditEvents.id))
      .limit(input.limit + 1)
      .all();
    const more = rows.length > input.limit;
    const items = rows.slice(0, input.limit).map(toAuditView);
    return { items, nextCursor: more ? items[items.length - 1]!.id : null };
  }

  /** The most recent rows (tests, diagnostics). */
  recent(limit = 100): AuditEvent[] {
    return this.db.select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(limit).all();
  }

  /** Rows matching `filter`, oldest first, read in pages (the export). */
  *rows(filter: AuditFilter, reader: AuditReader): Generator<AuditEvent> {
    let after = 0;
    for (;;) {
      const page = this.db
        .select()
        .from(auditEvents)
        .where(and(...this.where(filter, reader), gt(auditEvents.id, after)))
        .orderBy(asc(auditEvents.id))
        .limit(PAGE)
        .all();
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.id;
    }
  }

  /** The chained rows in seq order, read in pages. */
  private *chained(): Generator<AuditEvent> {
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const page = this.db
        .select()
        .from(auditEvents)
        .where(and(gt(auditEvents.seq, after), sql`${auditEvents.hash} is not null`))
        .orderBy(asc(auditEvents.seq))
        .limit(PAGE)
        .all();
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.seq!;
    }
  }

  /** Walks the chain from its anchor and reports the first changed, removed or inserted row. */
  verify(): AuditVerifyReport {
    this.init();
    const key = this.chainKey();
    const anchor = this.anchor();
    const start = { seq: anchor.seq, hash: anchor.hash };
    if (
      anchor.archive !== undefined &&
      anchor.seal !== sealAnchor(key, { ...anchor, archive: anchor.archive })
    )
      return {
        ok: false,
        checked: 0,
        anchor: start,
        head: null,
        firstBad: {
          seq: anchor.seq,
          id: null,
          reason: "changed",
          detail: `the chain's anchor (archive ${anchor.archive}) was modified`,
        },
      };
    const outside =
      this.db
        .select()
        .from(auditEvents)
        .where(or(isNull(auditEvents.seq), isNull(auditEvents.hash), isNull(auditEvents.prevHash)))
        .limit(1)
        .get() ?? undefined;
    return verifyChain(key, this.chained(), start, {
      outside,
      knownHeadSeq: this.knownHeadSeq ?? 0,
    });
  }

  /**
   * Moves rows older than `days` days to a gzipped JSON-lines archive, then deletes them and
   * records the last archived row as the chain's new anchor (one transaction). A broken chain
   * is not archived: the evidence stays where `verify` finds it.
   */
  async applyRetention(days: number): Promise<RetentionResult> {
    const dir = this.options.archiveDir;
    if (!dir) throw new Error("the audit service has no archive directory");
    const report = this.verify();
    if (!report.ok)
      throw new Error(
        `the audit chain is broken at seq ${report.firstBad?.seq ?? "?"} (${report.firstBad?.reason}): not archiving`,
      );
    const cutoff = new Date(this.now().getTime() - days * 24 * 3600 * 1000);
    const anchor = report.anchor;
    const old = this.db
      .select()
      .from(auditEvents)
      .where(and(gt(auditEvents.seq, anchor.seq), lt(auditEvents.at, cutoff)))
      .orderBy(asc(auditEvents.seq))
      .all();
    // Only a contiguous prefix of the chain can be archived.
    const batch: AuditEvent[] = [];
    for (const r of old) {
      if (r.seq !== anchor.seq + batch.length + 1) break;
      batch.push(r);
    }
    if (batch.length === 0) return { archived: 0, archive: null, anchor };
    const last = batch[batch.length - 1]!;
    const end = { seq: last.seq!, hash: last.hash! };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const name = `audit-${String(batch[0]!.seq).padStart(9, "0")}-${String(end.seq).padStart(9, "0")}.jsonl.gz`;
    const file = join(dir, name);
    const lines = function* () {
      yield `${JSON.stringify({ anchor })}\n`;
      for (const r of batch) yield `${JSON.stringify(toArchiveLine(r))}\n`;
      yield `${JSON.stringify({ end })}\n`;
    };
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(file, { mode: 0o600 }));
    const key = this.chainKey();
    this.db.transaction(
      (tx) => {
        tx.insert(auditAnchors)
          .values({
            ...end,
            archive: name,
            archivedAt: this.now(),
            seal: sealAnchor(key, { ...end, archive: name }),
          })
          .run();
        tx.delete(auditEvents)
          .where(and(gt(auditEvents.seq, anchor.seq), lte(auditEvents.seq, end.seq)))
          .run();
      },
      { behavior: "immediate" },
    );
    return { archived: batch.length, archive: file, anchor: end };
  }

  /** Verifies an archive written by `applyRetention` on its own (from its anchor to its end). */
  verifyArchive(file: string): AuditVerifyReport {
    const lines = gunzipSync(readFileSync(file)).toString("utf8").split("\n").filter(Boolean);
    const first = JSON.parse(lines[0] ?? "{}") as { anchor?: ChainAnchor };
    const last = JSON.parse(lines[lines.length - 1] ?? "{}") as { end?: ChainAnchor };
    if (!first.anchor || !last.end) throw new Error(`${file} is not an audit archive`);
    const records = lines.slice(1, -1).map((l) => fromArchiveLine(JSON.parse(l) as ArchiveLine));
    return verifyChain(this.chainKey(), records, first.anchor, { knownHeadSeq: last.end.seq });
  }
}

type ArchiveLine = Omit<AuditEvent, "at"> & { at: number };

function toArchiveLine(r: AuditEvent): ArchiveLine {
  return { ...r, at: r.at.getTime() };
}

function fromArchiveLine(l: ArchiveLine): ChainRecord {
  return { ...l, at: l.at };
}
