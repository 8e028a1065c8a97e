/**
 * The audit trail's hash chain, as pure functions.
 *
 * Every record carries `seq` (1, 2, 3… with no gaps), `prevHash` (the previous record's `hash`,
 * or the chain's anchor for the first one) and `hash` = HMAC-SHA256(chain key, canonical
 * serialisation of the record's fields + prevHash). The HMAC (rather than a bare sha256) matters:
 * whoever can write the SQLite file can recompute a bare hash chain after editing it, but not
 * without the key, which lives in the data dir (`audit-chain.key`, mode 0600), not in the
 * database.
 *
 * `verifyChain` walks the records in seq order from the anchor and reports the first break:
 *   - removed:  a gap in seq (rows deleted), or the newest rows gone (seq below the head this
 *               process wrote);
 *   - changed:  a record whose seal fails while the next record still links to its stored hash
 *               (its content was edited in place), or that no longer links to its predecessor;
 *   - inserted: a record outside the chain (no seq/hash), a seq at or before the anchor, or a
 *               record whose seal fails and that nothing links to (written around the server).
 */
import { createHmac } from "node:crypto";
import type { AuditBreak, AuditVerifyReport } from "@berth/core";

export const GENESIS_HASH = "0".repeat(64);

/** The fields a record's seal covers. */
export interface ChainRecord {
  id?: number | null;
  seq: number | null;
  at: Date | number;
  actorId: string | null;
  actorName: string | null;
  teamId: string | null;
  action: string;
  target: string | null;
  params: unknown;
  result: string;
  error: string | null;
  address: string | null;
  prevHash: string | null;
  hash: string | null;
}

/** JSON with object keys sorted at every depth: the same value always serialises the same. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

function ms(at: Date | number): number {
  return typeof at === "number" ? at : at.getTime();
}

/** The bytes a record's seal is computed over. */
export function serialiseRecord(r: Omit<ChainRecord, "hash" | "id">): string {
  return canonicalJson([
    "berth-audit-v1",
    r.seq,
    ms(r.at),
    r.actorId,
    r.actorName,
    r.teamId,
    r.action,
    r.target,
    r.params ?? null,
    r.result,
    r.error,
    r.address,
    r.prevHash,
  ]);
}

export function sealRecord(key: Buffer, r: Omit<ChainRecord, "hash" | "id">): string {
  return createHmac("sha256", key).update(serialiseRecord(r), "utf8").digest("hex");
}

export function sealAnchor(key: Buffer, a: { seq: number; hash: string; archive: string }): string {
  return createHmac("sha256", key)
    .update(canonicalJson(["berth-audit-anchor-v1", a.seq, a.hash, a.archive]), "utf8")
    .digest("hex");
}

export interface ChainAnchor {
  seq: number;
  hash: string;
}

function broken(
  report: Omit<AuditVerifyReport, "ok" | "firstBad">,
  r: { seq: number | null; id?: number | null | undefined },
  reason: AuditBreak,
  detail: string,
): AuditVerifyReport {
  return { ...report, ok: false, firstBad: { seq: r.seq, id: r.id ?? null, reason, detail } };
}

/**
 * Verifies the chained records (`records`: those with a seq, in ascending seq order, streamed)
 * from `anchor`. `outside`: a record of the table without seq or hash, if any. `knownHeadSeq`:
 * the highest seq this server knows it wrote or saw; a chain that ends before it lost its newest
 * records.
 */
export function verifyChain(
  key: Buffer,
  records: Iterable<ChainRecord>,
  anchor: ChainAnchor,
  options: { outside?: ChainRecord | undefined; knownHeadSeq?: number } = {},
): AuditVerifyReport {
  const knownHeadSeq = options.knownHeadSeq ?? 0;
  const it = records[Symbol.iterator]();
  let prev: ChainAnchor = anchor;
  let checked = 0;
  const state = () => ({ anchor, checked, head: checked === 0 ? null : prev });
  let cur = it.next();
  while (!cur.done) {
    const r = cur.value;
    const nextItem = it.next();
    const seq = r.seq as number;
    if (seq <= anchor.seq)
      return broken(
        state(),
        r,
        "inserted",
        `seq ${seq} is at or before the anchor (${anchor.seq})`,
      );
    if (seq > prev.seq + 1)
      return broken(
        state(),
        { seq: prev.seq + 1, id: null },
        "removed",
        seq === prev.seq + 2
          ? `record ${prev.seq + 1} is missing`
          : `records ${prev.seq + 1}–${seq - 1} are missing`,
      );
    if (sealRecord(key, r) !== r.hash) {
      const linkedTo = nextItem.done ? seq <= knownHeadSeq : nextItem.value.prevHash === r.hash;
      return linkedTo
        ? broken(state(), r, "changed", `record ${seq} was modified after it was written`)
        : broken(state(), r, "inserted", `record ${seq} was not written by the server`);
    }
    if (r.prevHash !== prev.hash)
      return broken(state(), r, "changed", `record ${seq} does not link to the record before it`);
    prev = { seq, hash: r.hash as string };
    checked++;
    cur = nextItem;
  }
  if (options.outside)
    return broken(
      state(),
      options.outside,
      "inserted",
      `record id ${options.outside.id ?? "?"} is not part of the chain (no seq or hash)`,
    );
  if (prev.seq < knownHeadSeq)
    return broken(
      state(),
      { seq: prev.seq + 1, id: null },
      "removed",
      `the chain ends at ${prev.seq} but this server wrote up to ${knownHeadSeq}`,
    );
  return { ...state(), ok: true };
}
