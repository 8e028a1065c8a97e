/**
 * Usage reports, prices and budgets over the rollups that usage-ingest.ts writes.
 *
 * Reports group by team, user, node, pool, container or a container label, in steps of a
 * minute, hour, day or month (UTC) or one total. Ranges up to two days (and minute steps) read
 * the per-minute table, longer ones the per-hour table; both hold the same amounts. Rows and the
 * totals come from the same numbers, so the totals are the sum of the rows.
 *
 * Units: CPU core-seconds; memory GB-hours (GB = 10⁹ bytes; used, or OpenCost's
 * max(limit, used) with `memory: "max-request"`); network and block IO GB; container-hours.
 * Prices (micro-units, so sums stay exact) turn amounts into cost; a pool's price wins over the
 * default one.
 */
import {
  DomainError,
  UsageReportInputSchema,
  type BudgetInput,
  type UsageAmounts,
  type UsageGroupBy,
  type UsagePriceInput,
  type UsageReport,
  type UsageReportInput,
  type UsageReportRow,
  type UsageSample,
  type UsageStep,
  type UsageUnit,
} from "@berth/core";
import {
  and,
  containers,
  desc,
  eq,
  inArray,
  nodes,
  or,
  pools,
  sql,
  teams,
  lt,
  usageAttribution,
  usageBudgets,
  usageContainerState,
  usageMinute,
  usageNotifications,
  usagePrices,
  users,
  type Db,
} from "@berth/db";
import { UsageBudgets, type BudgetView, type NotificationView } from "./usage-budgets";
import { UsageIngest } from "./usage-ingest";

/** Who asks: an administrator, or a member acting in one team. */
export interface UsageActor {
  isAdmin: boolean;
  teamId: string;
}

export const USAGE_CURRENCY = "USD";
const GB = 1e9;
const MINUTE_TABLE_MAX_RANGE_MS = 2 * 86_400_000;
/** Per-minute rows are kept this long (hourly ones forever); older ranges read usage_hour. */
export const MINUTE_RETENTION_MS = 14 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export interface PriceView {
  unit: UsageUnit;
  price: number;
  pool: string | null;
  poolName: string | null;
}

type Prices = Map<string, number>; // `${unit}|${poolId}` → price per unit

interface GroupRow {
  period: number;
  key: string | null;
  pool: string | null;
  cpu_ns: number;
  mem: number;
  rx: number;
  tx: number;
  blk: number;
  run_ms: number;
}

export class UsageService {
  readonly ingest: UsageIngest;
  readonly budgets: UsageBudgets;
  private readonly pruner: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    opts: {
      budgetCheckMs?: number;
      now?: () => number;
      /** Budget webhooks may target loopback and private addresses (BERTH_WEBHOOK_ALLOW_PRIVATE). */
      webhookAllowPrivate?: boolean;
    } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.pruner = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.pruner.unref();
    this.ingest = new UsageIngest(db);
    this.budgets = new UsageBudgets(
      db,
      (teamId, from, to) => this.teamCost(teamId, from, to),
      opts,
    );
  }

  /** The gateway's sink: store, then let budgets look at the teams that changed. */
  readonly sink = {
    ackedSeq: (nodeId: string) => this.ingest.ackedSeq(nodeId),
    ingest: (nodeId: string, samples: UsageSample[]) => {
      const r = this.ingest.ingest(nodeId, samples);
      for (const t of r.teams) this.budgets.markDirty(t);
      return r.ackedSeq;
    },
  };

  close(): void {
    clearInterval(this.pruner);
    this.budgets.close();
  }

  /**
   * Drops per-minute rows older than the retention (the hourly rows keep the same amounts) and
   * the last-sample state of containers that no longer exist (a stopped container keeps its
   * state however old: restarted, its network counters continue from it instead of re-billing
   * the veth's lifetime total). Returns the rows removed.
   */
  prune(): number {
    const before = this.now() - MINUTE_RETENTION_MS;
    const minutes = this.db.delete(usageMinute).where(lt(usageMinute.bucket, before)).run();
    const states = this.db
      .delete(usageContainerState)
      .where(
        sql`not exists (select 1 from ${containers} where ${containers.id} = ${usageContainerState.containerId})`,
      )
      .run();
    return minutes.changes + states.changes;
  }

  // ---------------------------------------------------------------- teams and access

  /** The team a request is about: `ref` (id or name) or the caller's; null = every team (admins). */
  resolveTeam(actor: UsageActor, ref: string | undefined, allIfAdmin = true): string | null {
    if (ref === undefined) return actor.isAdmin && allIfAdmin ? null : actor.teamId;
    const t = this.db
      .select({ id: teams.id })
      .from(teams)
      .where(or(eq(teams.id, ref), eq(teams.name, ref)))
      .get();
    // Another team's name answers exactly like an unknown one: no existence leak.
    if (!t || (!actor.isAdmin && t.id !== actor.teamId))
      throw new DomainError(
        "not_found",
        `team ${ref} not found among the teams whose usage you may see (the team you act in)`,
      );
    return t.id;
  }

  // ---------------------------------------------------------------- reports

  report(actor: UsageActor, raw: UsageReportInput): UsageReport {
    const input = UsageReportInputSchema.parse(raw);
    const teamId = this.resolveTeam(actor, input.team);
    const minutesKept = input.from >= this.now() - MINUTE_RETENTION_MS;
    const useMinutes =
      minutesKept &&
      (input.step === "minute" || input.to - input.from <= MINUTE_TABLE_MAX_RANGE_MS);
    if (input.step === "minute" && !useMinutes)
      throw new DomainError(
        "invalid_input",
        "minute steps cover at most two days of the last 14; use --step hour",
      );
    const table = useMinutes ? sql.raw("usage_minute") : sql.raw("usage_hour");
    const memCol = sql.raw(input.memory === "max-request" ? "mem_alloc_byte_sec" : "mem_byte_sec");
    const key = keyExpr(input.by);
    const period = periodExpr(input.step, input.from);
    const rows = this.db.all<GroupRow>(sql`
      SELECT ${period} AS period, ${key} AS key, pool_id AS pool,
             SUM(cpu_ns) AS cpu_ns, SUM(${memCol}) AS mem, SUM(net_rx_bytes) AS rx,
             SUM(net_tx_bytes) AS tx, SUM(blk_read_bytes + blk_write_bytes) AS blk,
             SUM(run_ms) AS run_ms
      FROM ${table}
      WHERE bucket >= ${input.from} AND bucket < ${input.to}
        ${teamId === null ? sql`` : sql`AND team_id = ${teamId}`}
      GROUP BY 1, 2, 3`);
    const prices = this.prices();
    const merged = new Map<string, UsageReportRow>();
    for (const r of rows) {
      const k = r.key ?? "";
      const amounts = toAmounts(r, prices);
      const id = `${r.period}|${k}`;
      const prev = merged.get(id);
      merged.set(
        id,
        prev
          ? { ...prev, ...addAmounts(prev, amounts) }
          : { period: r.period, key: k, label: k, ...amounts },
      );
    }
    const names = this.names(input.by, [...new Set([...merged.values()].map((r) => r.key))]);
    const out = [...merged.values()]
      .map((r) => ({ ...r, label: names.get(r.key) ?? r.key }))
      .sort((a, b) => a.period - b.period || a.label.localeCompare(b.label));
    return {
      from: input.from,
      to: input.to,
      by: input.by,
      step: input.step,
      memory: input.memory,
      currency: USAGE_CURRENCY,
      rows: out,
      totals: out.reduce<UsageAmounts>((a, r) => addAmounts(a, r), zeroAmounts()),
    };
  }

  /** A team's cost over [from, to) (budgets). */
  teamCost(teamId: string, from: number, to: number): number {
    return this.report(
      { isAdmin: true, teamId },
      { team: teamId, from, to, by: "team", step: "total" },
    ).totals.cost;
  }

  private names(by: UsageGroupBy, keys: string[]): Map<string, string> {
    const m = new Map<string, string>();
    if (keys.length === 0 || by.startsWith("label:")) return m;
    const pairs: { id: string; name: string }[] =
      by === "team"
        ? this.db
            .select({ id: teams.id, name: teams.name })
            .from(teams)
            .where(inArray(teams.id, keys))
            .all()
        : by === "user"
          ? this.db
              .select({ id: users.id, name: users.username })
              .from(users)
              .where(inArray(users.id, keys))
              .all()
          : by === "node"
            ? this.db
                .select({ id: nodes.id, name: nodes.name })
                .from(nodes)
                .where(inArray(nodes.id, keys))
                .all()
            : by === "pool"
              ? this.db
                  .select({ id: pools.id, name: pools.name })
                  .from(pools)
                  .where(inArray(pools.id, keys))
                  .all()
              : this.db
                  .select({
                    id: usageAttribution.containerId,
                    name: usageAttribution.containerName,
                  })
                  .from(usageAttribution)
                  .where(inArray(usageAttribution.containerId, keys))
                  .all();
    for (const p of pairs) m.set(p.id, p.name);
    if (by === "pool" && keys.includes("")) m.set("", "(no pool)");
    if (by === "user" && keys.includes("")) m.set("", "(unknown user)");
    return m;
  }

  // ---------------------------------------------------------------- prices

  private prices(): Prices {
    const m: Prices = new Map();
    for (const p of this.db.select().from(usagePrices).all())
      m.set(`${p.unit}|${p.poolId}`, p.microPrice / 1e6);
    return m;
  }

  listPrices(): PriceView[] {
    const poolNames = new Map(
      this.db
        .select()
        .from(pools)
        .all()
        .map((p) => [p.id, p.name]),
    );
    return this.db
      .select()
      .from(usagePrices)
      .all()
      .map((p) => ({
        unit: p.unit as UsageUnit,
        price: p.microPrice / 1e6,
        pool: p.poolId === "" ? null : p.poolId,
        poolName: p.poolId === "" ? null : (poolNames.get(p.poolId) ?? p.poolId),
      }))
      .sort(
        (a, b) =>
          a.unit.localeCompare(b.unit) || (a.poolName ?? "").localeCompare(b.poolName ?? ""),
      );
  }

  setPrice(input: UsagePriceInput): PriceView[] {
    let poolId = "";
    if (input.pool !== undefined) {
      const p = this.db
        .select({ id: pools.id })
        .from(pools)
        .where(or(eq(pools.id, input.pool), eq(pools.name, input.pool)))
        .get();
      if (!p) throw new DomainError("not_found", `pool ${input.pool} not found`);
      poolId = p.id;
    }
    const microPrice = Math.round(input.price * 1e6);
    if (microPrice === 0)
      this.db
        .delete(usagePrices)
        .where(and(eq(usagePrices.unit, input.unit), eq(usagePrices.poolId, poolId)))
        .run();
    else
      this.db
        .insert(usagePrices)
        .values({ unit: input.unit, poolId, microPrice })
        .onConflictDoUpdate({
          target: [usagePrices.unit, usagePrices.poolId],
          set: { microPrice, updatedAt: new Date() },
        })
        .run();
    return this.listPrices();
  }

  // ---------------------------------------------------------------- budgets

  async setBudget(actor: UsageActor, input: BudgetInput): Promise<BudgetView> {
    const teamId = this.resolveTeam(actor, input.team, false)!;
    return this.budgets.set(teamId, input);
  }

  removeBudget(actor: UsageActor, team: string | undefined): void {
    const teamId = this.resolveTeam(actor, team, false)!;
    this.db.delete(usageBudgets).where(eq(usageBudgets.teamId, teamId)).run();
  }

  listBudgets(actor: UsageActor): BudgetView[] {
    return this.budgets.list(actor.isAdmin ? null : actor.teamId);
  }

  notifications(actor: UsageActor, limit = 50): NotificationView[] {
    const q = this.db
      .select({ n: usageNotifications, team: teams.name })
      .from(usageNotifications)
      .innerJoin(teams, eq(teams.id, usageNotifications.teamId))
      .where(actor.isAdmin ? undefined : eq(usageNotifications.teamId, actor.teamId))
      .orderBy(desc(usageNotifications.id))
      .limit(limit)
      .all();
    return q.map(({ n, team }) => ({
      id: n.id,
      teamId: n.teamId,
      team,
      month: n.month,
      threshold: n.threshold,
      spent: n.spentMicro / 1e6,
      budget: n.budgetMicro / 1e6,
      webhookResult: n.webhookResult,
      at: n.createdAt.getTime(),
    }));
  }
}

// ---------------------------------------------------------------- helpers

function keyExpr(by: UsageGroupBy) {
  switch (by) {
    case "team":
      return sql.raw("team_id");
    case "user":
      return sql.raw("COALESCE(user_id, '')");
    case "node":
      return sql.raw("node_id");
    case "pool":
      return sql.raw("COALESCE(pool_id, '')");
    case "container":
      return sql.raw("container_id");
    default:
      // The key is validated (UsageGroupBySchema) and bound as a parameter, never spliced.
      return sql`COALESCE(json_extract(labels, ${`$."${by.slice("label:".length)}"`}), '')`;
  }
}

function periodExpr(step: UsageStep, from: number) {
  switch (step) {
    case "total":
      return sql`${from}`;
    case "minute":
      return sql.raw("bucket");
    case "hour":
      return sql.raw("(bucket / 3600000) * 3600000");
    case "day":
      return sql.raw("(bucket / 86400000) * 86400000");
    case "month":
      return sql.raw(
        "CAST(strftime('%s', bucket / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000",
      );
  }
}

function zeroAmounts(): UsageAmounts {
  return {
    cpuCoreSeconds: 0,
    memoryGbHours: 0,
    networkRxGb: 0,
    networkTxGb: 0,
    blockIoGb: 0,
    containerHours: 0,
    cost: 0,
  };
}

function addAmounts(a: UsageAmounts, b: UsageAmounts): UsageAmounts {
  return {
    cpuCoreSeconds: a.cpuCoreSeconds + b.cpuCoreSeconds,
    memoryGbHours: a.memoryGbHours + b.memoryGbHours,
    networkRxGb: a.networkRxGb + b.networkRxGb,
    networkTxGb: a.networkTxGb + b.networkTxGb,
    blockIoGb: a.blockIoGb + b.blockIoGb,
    containerHours: a.containerHours + b.containerHours,
    cost: a.cost + b.cost,
  };
}

function toAmounts(r: GroupRow, prices: Prices): UsageAmounts {
  const a = {
    cpuCoreSeconds: r.cpu_ns / 1e9,
    memoryGbHours: r.mem / GB / 3600,
    networkRxGb: r.rx / GB,
    networkTxGb: r.tx / GB,
    blockIoGb: r.blk / GB,
    containerHours: r.run_ms / 3_600_000,
  };
  const price = (unit: UsageUnit) =>
    prices.get(`${unit}|${r.pool ?? ""}`) ?? prices.get(`${unit}|`) ?? 0;
  const cost =
    a.cpuCoreSeconds * price("cpu_core_second") +
    a.memoryGbHours * price("memory_gb_hour") +
    (a.networkRxGb + a.networkTxGb) * price("network_gb") +
    a.blockIoGb * price("block_io_gb") +
    a.containerHours * price("container_hour");
  return { ...a, cost };
}
