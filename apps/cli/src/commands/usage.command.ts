/**
 * `berth usage`: usage and cost reports (table, CSV or JSON), `berth usage prices ls|set`, and
 * `berth budget set|ls|rm`. Times are ISO dates/times, `now`, or a duration ago (`90m`, `24h`,
 * `7d`); the default range is the last 24 hours.
 */
import { type Command } from "commander";
import {
  USAGE_UNITS,
  UsageGroupBySchema,
  UsageStepSchema,
  usageReportToCsv,
  type UsageAmounts,
  type UsageReport,
  type UsageUnit,
} from "@berth/core";
import type { BudgetView, PriceView } from "../api/usage-api";
import { withApi, type CliContext } from "../context";
import { formatTable } from "../format/docker-format";
import { UsageError } from "../errors";
import { type GlobalFlags } from "./global-flags";

const AGO = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `now`, `24h` (ago), `2026-11-01`, `2026-11-01T10:00:00Z` → epoch ms. */
export function parseTime(v: string, now: number, flag: string): number {
  if (v === "now") return now;
  const ago = AGO.exec(v);
  if (ago) return now - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS];
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (!Number.isFinite(t))
    throw new UsageError(
      `invalid ${flag} ${JSON.stringify(v)}`,
      "use an ISO date or time (2026-11-01, 2026-11-01T10:00:00Z), now, or a duration ago (90m, 24h, 7d)",
    );
  return t;
}

export interface UsageFlags {
  team?: string;
  from?: string;
  to?: string;
  by?: string;
  step?: string;
  memory?: string;
  format?: string;
  json?: boolean;
}

/** The report input of `berth usage` flags. */
export function usageInput(flags: UsageFlags, now: number) {
  const by = UsageGroupBySchema.safeParse(flags.by ?? "container");
  if (!by.success)
    throw new UsageError(
      `invalid --by ${JSON.stringify(flags.by)}`,
      "use team, user, node, pool, container or label:KEY",
    );
  const step = UsageStepSchema.safeParse(flags.step ?? "total");
  if (!step.success)
    throw new UsageError(
      `invalid --step ${JSON.stringify(flags.step)}`,
      "use minute, hour, day, month or total",
    );
  const memory = flags.memory ?? "used";
  if (memory !== "used" && memory !== "max-request")
    throw new UsageError(`invalid --memory ${JSON.stringify(memory)}`, "use used or max-request");
  const to = parseTime(flags.to ?? "now", now, "--to");
  const from = parseTime(flags.from ?? "24h", now, "--from");
  if (from >= to) throw new UsageError("--from must be before --to");
  return {
    ...(flags.team === undefined ? {} : { team: flags.team }),
    from,
    to,
    by: by.data,
    step: step.data,
    memory: memory as "used" | "max-request",
  };
}

const fmt = (n: number, digits = 4) => (n === 0 ? "0" : n.toFixed(digits));
const amountCells = (a: UsageAmounts) => [
  fmt(a.cpuCoreSeconds, 2),
  fmt(a.memoryGbHours, 6),
  fmt(a.networkRxGb, 6),
  fmt(a.networkTxGb, 6),
  fmt(a.blockIoGb, 6),
  fmt(a.containerHours, 4),
  fmt(a.cost, 4),
];

/** The report as a table: one line per row, then TOTAL. */
export function usageTable(r: UsageReport): string {
  const withPeriod = r.step !== "total";
  const header = [
    ...(withPeriod ? ["PERIOD"] : []),
    r.by.toUpperCase(),
    "CPU (core-s)",
    r.memory === "used" ? "MEMORY (GB-h)" : "MEMORY max(req,used) (GB-h)",
    "NET RX (GB)",
    "NET TX (GB)",
    "BLOCK IO (GB)",
    "CONTAINER-H",
    `COST (${r.currency})`,
  ];
  const rows = r.rows.map((row) => [
    ...(withPeriod ? [new Date(row.period).toISOString()] : []),
    row.label,
    ...amountCells(row),
  ]);
  rows.push([
    ...(withPeriod ? ["TOTAL"] : []),
    withPeriod ? "" : "TOTAL",
    ...amountCells(r.totals),
  ]);
  return formatTable(header, rows);
}

function priceTable(prices: PriceView[]): string {
  return formatTable(
    ["UNIT", "POOL", "PRICE"],
    prices.map((p) => [p.unit, p.poolName ?? "(default)", String(p.price)]),
  );
}

function budgetTable(budgets: BudgetView[]): string {
  return formatTable(
    ["TEAM", "MONTHLY", "SPENT", "USED", "THRESHOLDS", "WEBHOOK"],
    budgets.map((b) => [
      b.team,
      String(b.monthlyAmount),
      b.spent.toFixed(4),
      `${b.percent.toFixed(1)}%`,
      b.thresholds.map((t) => `${t}%`).join(","),
      b.webhookUrl ?? "",
    ]),
  );
}

export function registerUsageCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const usage = program
    .command("usage")
    .description("Show usage and cost: by team, user, node, pool, container or label")
    .option("--team <team>", "team id or name (default: the team you act in; admins: all)")
    .option("--from <time>", "start: ISO date/time, now, or a duration ago like 7d", "24h")
    .option("--to <time>", "end (exclusive)", "now")
    .option("--by <key>", "team | user | node | pool | container | label:KEY", "container")
    .option("--step <step>", "minute | hour | day | month | total", "total")
    .option("--memory <mode>", "used | max-request (OpenCost's max(limit, used))", "used")
    .option("--format <format>", "table | csv | json", "table")
    .option("--json", "same as --format json")
    .action(async (flags: UsageFlags) => {
      const format = flags.json ? "json" : (flags.format ?? "table");
      if (!["table", "csv", "json"].includes(format))
        throw new UsageError(
          `invalid --format ${JSON.stringify(format)}`,
          "use table, csv or json",
        );
      const input = usageInput(flags, Date.now());
      const r = await withApi(ctx, globals(), {}, (api) => api.usage.report(input));
      if (format === "json") ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else if (format === "csv") ctx.stdout.write(usageReportToCsv(r));
      else ctx.stdout.write(`${usageTable(r)}\n`);
    });

  const prices = usage.command("prices").description("Prices per unit that turn usage into cost");
  prices
    .command("ls")
    .alias("list")
    .description("List prices")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const list = await withApi(ctx, globals(), {}, (api) => api.usage.prices());
      ctx.stdout.write(flags.json ? `${JSON.stringify(list, null, 2)}\n` : `${priceTable(list)}\n`);
    });
  prices
    .command("set")
    .description(
      `Set the price of a unit (administrators; 0 removes it): ${USAGE_UNITS.join(", ")}`,
    )
    .argument("<unit>", "the unit")
    .argument("<price>", "price per unit")
    .option("--pool <pool>", "only for this pool (default: every pool without its own price)")
    .action(async (unit: string, price: string, flags: { pool?: string }) => {
      if (!(USAGE_UNITS as readonly string[]).includes(unit))
        throw new UsageError(
          `unknown unit ${JSON.stringify(unit)}`,
          `use one of ${USAGE_UNITS.join(", ")}`,
        );
      const p = Number(price);
      if (!Number.isFinite(p) || p < 0)
        throw new UsageError(`invalid price ${JSON.stringify(price)}`, "use a number ≥ 0");
      const list = await withApi(ctx, globals(), {}, (api) =>
        api.usage.setPrice({
          unit: unit as UsageUnit,
          price: p,
          ...(flags.pool ? { pool: flags.pool } : {}),
        }),
      );
      ctx.stdout.write(`${priceTable(list)}\n`);
    });

  const budget = program.command("budget").description("Monthly budgets per team");
  budget
    .command("set")
    .description("Set a team's monthly budget (budget.manage)")
    .requiredOption("--amount <amount>", "per calendar month (UTC)")
    .option("--team <team>", "team id or name (default: the team you act in)")
    .option("--threshold <percents>", "comma-separated percentages that notify", "50,80,100")
    .option("--webhook <url>", "POSTed a JSON body when a threshold is crossed")
    .action(
      async (flags: { amount: string; team?: string; threshold: string; webhook?: string }) => {
        const amount = Number(flags.amount);
        if (!Number.isFinite(amount) || amount <= 0)
          throw new UsageError(
            `invalid --amount ${JSON.stringify(flags.amount)}`,
            "use a number > 0",
          );
        const thresholds = flags.threshold
          .split(",")
          .map((t) => Number(t.trim().replace(/%$/, "")));
        if (thresholds.some((t) => !Number.isInteger(t) || t < 1 || t > 1000))
          throw new UsageError(
            `invalid --threshold ${JSON.stringify(flags.threshold)}`,
            "use whole percentages, e.g. 50,80,100",
          );
        const b = await withApi(ctx, globals(), {}, (api) =>
          api.usage.setBudget({
            ...(flags.team ? { team: flags.team } : {}),
            monthlyAmount: amount,
            thresholds,
            webhookUrl: flags.webhook ?? null,
          }),
        );
        ctx.stdout.write(`${budgetTable([b])}\n`);
      },
    );
  budget
    .command("ls")
    .alias("list")
    .description("List budgets with this month's spending")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const list = await withApi(ctx, globals(), {}, (api) => api.usage.budgets());
      ctx.stdout.write(
        flags.json ? `${JSON.stringify(list, null, 2)}\n` : `${budgetTable(list)}\n`,
      );
    });
  budget
    .command("rm")
    .alias("remove")
    .description("Remove a team's budget")
    .option("--team <team>", "team id or name (default: the team you act in)")
    .action(async (flags: { team?: string }) => {
      await withApi(ctx, globals(), {}, (api) => api.usage.removeBudget(flags.team));
    });
}
