/**
 * Usage ingest: turns an agent's cumulative samples into per-minute and per-hour rollups.
 *
 * Exactly once: a node's samples carry increasing seqs and the highest one stored is kept in
 * usage_cursors, updated in the same transaction as the rollups, so a resend after a reconnect,
 * an agent restart or a server restart is recognised and skipped (and acked again).
 *
 * Deltas: each container's last sample is kept (usage_container_state). A sample of the same
 * epoch (the same run of the process) adds `cur - last` for each counter; a new epoch means a
 * new cgroup whose counters started at zero, so it adds `cur`. Network counters are the host
 * veth's, which outlive restarts: a network counter that went down is taken as a reset. The
 * running time of a delta is `at - last.at` (or `at - epoch start` for the first sample of a
 * run); the delta is spread over the minutes it covers in proportion to time, so a gap (agent
 * down, link cut) is filled evenly — exact for the totals, approximate for how they split in time.
 *
 * Attribution (team, user, node, pool, labels) is the row stamped at create (usage-attribution.ts)
 * and copied into every rollup row, so later changes never rewrite history.
 */
import {
  and,
  containers,
  eq,
  nodes,
  sql,
  usageAttribution,
  usageContainerState,
  usageCursors,
  usageHour,
  usageMinute,
  type Db,
  type UsageAttributionRow,
} from "@berth/db";
import type { UsageSample } from "@berth/core";

const MINUTE = 60_000;
const HOUR = 3_600_000;

export interface IngestResult {
  /** Highest seq now stored for the node (what to ack). */
  ackedSeq: number;
  stored: number;
  /** Repeats of already stored seqs, stale or unattributable samples. */
  skipped: number;
  /** Teams whose usage changed (for budget checks). */
  teams: Set<string>;
}

interface Delta {
  cpuNs: number;
  memByteSec: number;
  memAllocByteSec: number;
  netRxBytes: number;
  netTxBytes: number;
  blkReadBytes: number;
  blkWriteBytes: number;
  runMs: number;
}
const DELTA_KEYS = [
  "cpuNs",
  "memByteSec",
  "memAllocByteSec",
  "netRxBytes",
  "netTxBytes",
  "blkReadBytes",
  "blkWriteBytes",
  "runMs",
] as const satisfies readonly (keyof Delta)[];

/** Stamps a container's attribution from its row and its node's pool (first write wins). */
export function stampAttribution(
  db: Db,
  row: {
    id: string;
    name: string;
    teamId: string;
    createdBy: string | null;
    nodeId: string;
    spec: unknown;
  },
): void {
  const node = db
    .select({ poolId: nodes.poolId })
    .from(nodes)
    .where(eq(nodes.id, row.nodeId))
    .get();
  const labels = (row.spec as { labels?: Record<string, string> } | null)?.labels ?? {};
  db.insert(usageAttribution)
    .values({
      containerId: row.id,
      containerName: row.name,
      teamId: row.teamId,
      userId: row.createdBy,
      nodeId: row.nodeId,
      poolId: node?.poolId ?? null,
      labels,
    })
    .onConflictDoNothing()
    .run();
}

export class UsageIngest {
  constructor(private readonly db: Db) {}

  /** Highest seq stored from `nodeId` (0 when none). */
  ackedSeq(nodeId: string): number {
    return (
      this.db
        .select({ s: usageCursors.ackedSeq })
        .from(usageCursors)
        .where(eq(usageCursors.nodeId, nodeId))
        .get()?.s ?? 0
    );
  }

  /** Stores a batch from one node in one transaction; returns the seq to ack. */
  ingest(nodeId: string, samples: readonly UsageSample[]): IngestResult {
    return this.db.transaction((tx) => {
      const db = tx as unknown as Db;
      let acked = this.ackedSeqIn(db, nodeId);
      const result: IngestResult = { ackedSeq: acked, stored: 0, skipped: 0, teams: new Set() };
      for (const s of samples) {
        if (s.seq <= acked) {
          result.skipped++;
          continue;
        }
        acked = s.seq;
        const team = this.apply(db, nodeId, s);
        if (team === null) result.skipped++;
        else {
          result.stored++;
          result.teams.add(team);
        }
      }
      db.insert(usageCursors)
        .values({ nodeId, ackedSeq: acked })
        .onConflictDoUpdate({ target: usageCursors.nodeId, set: { ackedSeq: acked } })
        .run();
      result.ackedSeq = acked;
      return result;
    });
  }

  private ackedSeqIn(db: Db, nodeId: string): number {
    return (
      db
        .select({ s: usageCursors.ackedSeq })
        .from(usageCursors)
        .where(eq(usageCursors.nodeId, nodeId))
        .get()?.s ?? 0
    );
  }

  private attribution(db: Db, nodeId: string, containerId: string): UsageAttributionRow | null {
    const a = db
      .select()
      .from(usageAttribution)
      .where(eq(usageAttribution.containerId, containerId))
      .get();
    if (a) return a;
    // Placed before usage accounting existed (or by another path): stamp from the row now.
    const row = db
      .select()
      .from(containers)
      .where(and(eq(containers.id, containerId), eq(containers.nodeId, nodeId)))
      .get();
    if (!row) return null;
    stampAttribution(db, row);
    return (
      db
        .select()
        .from(usageAttribution)
        .where(eq(usageAttribution.containerId, containerId))
        .get() ?? null
    );
  }

  /** Applies one sample; returns its team, or null when it is skipped. */
  private apply(db: Db, nodeId: string, s: UsageSample): string | null {
    const who = this.attribution(db, nodeId, s.containerId);
    if (!who || who.nodeId !== nodeId) return null;
    const prev = db
      .select()
      .from(usageContainerState)
      .where(eq(usageContainerState.containerId, s.containerId))
      .get();
    const same = prev !== undefined && prev.epoch === s.epoch;
    if (same && (s.at <= prev.at || prev.final)) return null;
    const epochStart = Date.parse(s.epoch);
    const start = same
      ? prev.at
      : Number.isFinite(epochStart)
        ? Math.min(Math.max(epochStart, prev?.at ?? 0), s.at)
        : s.at;
    const counter = (cur: number, last: number | undefined) =>
      same && last !== undefined ? Math.max(0, cur - last) : cur;
    const net = (cur: number, last: number | undefined) =>
      last === undefined || cur < last ? cur : cur - last;
    const runMs = s.at - start;
    const memByteSec = counter(s.memByteSec, prev?.memByteSec);
    const delta: Delta = {
      cpuNs: counter(s.cpuNs, prev?.cpuNs),
      memByteSec,
      memAllocByteSec:
        s.memLimitBytes === null
          ? memByteSec
          : Math.max(memByteSec, (s.memLimitBytes * runMs) / 1000),
      netRxBytes: net(s.netRxBytes, prev?.netRxBytes),
      netTxBytes: net(s.netTxBytes, prev?.netTxBytes),
      blkReadBytes: counter(s.blkReadBytes, prev?.blkReadBytes),
      blkWriteBytes: counter(s.blkWriteBytes, prev?.blkWriteBytes),
      runMs,
    };
    for (const [bucket, part] of spread(start, s.at, delta, MINUTE))
      this.add(db, usageMinute, bucket, who, part);
    for (const [bucket, part] of spread(start, s.at, delta, HOUR))
      this.add(db, usageHour, bucket, who, part);
    const state = {
      epoch: s.epoch,
      at: s.at,
      cpuNs: Math.round(s.cpuNs),
      memBytes: Math.round(s.memBytes),
      memByteSec: Math.round(s.memByteSec),
      blkReadBytes: Math.round(s.blkReadBytes),
      blkWriteBytes: Math.round(s.blkWriteBytes),
      netRxBytes: Math.round(s.netRxBytes),
      netTxBytes: Math.round(s.netTxBytes),
      final: s.final === true,
    };
    db.insert(usageContainerState)
      .values({ containerId: s.containerId, ...state })
      .onConflictDoUpdate({ target: usageContainerState.containerId, set: state })
      .run();
    return who.teamId;
  }

  private add(
    db: Db,
    table: typeof usageMinute | typeof usageHour,
    bucket: number,
    who: UsageAttributionRow,
    d: Record<keyof Delta, number>,
  ): void {
    const values = Object.fromEntries(DELTA_KEYS.map((k) => [k, d[k]])) as Record<
      keyof Delta,
      number
    >;
    const set = Object.fromEntries(
      DELTA_KEYS.map((k) => [k, sql`${table[k]} + ${values[k]}`]),
    ) as Record<keyof Delta, ReturnType<typeof sql>>;
    db.insert(table)
      .values({
        bucket,
        containerId: who.containerId,
        teamId: who.teamId,
        userId: who.userId,
        nodeId: who.nodeId,
        poolId: who.poolId,
        labels: who.labels,
        ...values,
      })
      .onConflictDoUpdate({ target: [table.bucket, table.containerId], set })
      .run();
  }
}

/**
 * Splits `d` over the buckets of `size` that [start, end) covers, in proportion to time, as
 * integers whose sum is exactly the rounded total (the remainder goes to the last bucket).
 */
export function spread(
  start: number,
  end: number,
  d: Delta,
  size: number,
): [number, Record<keyof Delta, number>][] {
  const total = Object.fromEntries(DELTA_KEYS.map((k) => [k, Math.round(d[k])])) as Record<
    keyof Delta,
    number
  >;
  if (end <= start) return [[Math.floor(end / size) * size, total]];
  const first = Math.floor(start / size) * size;
  if (Math.floor((end - 1) / size) * size === first) return [[first, total]];
  const out: [number, Record<keyof Delta, number>][] = [];
  const given = Object.fromEntries(DELTA_KEYS.map((k) => [k, 0])) as Record<keyof Delta, number>;
  for (let b = first; b < end; b += size) {
    const last = b + size >= end;
    // Cumulative rounding: each bucket gets round(total × share up to its end) − what the
    // earlier ones got, so parts are never negative and add up to the total exactly.
    const upTo = (Math.min(end, b + size) - start) / (end - start);
    const part = Object.fromEntries(
      DELTA_KEYS.map((k) => {
        const v = last ? total[k] - given[k] : Math.round(total[k] * upTo) - given[k];
        given[k] += v;
        return [k, v];
      }),
    ) as Record<keyof Delta, number>;
    out.push([b, part]);
  }
  return out;
}
