"use client";
/**
 * Usage and cost: a report over a range (group by team, user, node, pool, container or a label;
 * steps of an hour, a day, a month or one total), a chart of one measure, the rows with their
 * totals, a CSV download of exactly what the API answered, this month's budgets and the budget
 * notifications. Only callers with usage.read for the team get the data (the API decides).
 */
import "@mantine/charts/styles.css";
import { BarChart } from "@mantine/charts";
import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  Progress,
  Select,
  SimpleGrid,
  Stack,
  Text,
  Title,
} from "@mantine/core";
import { IconBell, IconDownload, IconRefresh } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import {
  usageReportToCsv,
  type UsageAmounts,
  type UsageReport,
  type UsageReportRow,
} from "@berth/core";
import { useMe } from "@/components/app-frame";
import { DataTable } from "@/components/data-table";
import { EmptyState, ErrorState, LoadingState } from "@/components/query-state";
import { TextFilter } from "@/components/text-filter";
import { SetBudgetButton, SetPriceButton } from "@/components/usage-actions";
import { useTRPC } from "@/lib/trpc";

const RANGES = [
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { value: "month", label: "This month (UTC)", ms: 0 },
] as const;
type RangeKey = (typeof RANGES)[number]["value"];

const GROUPS = ["container", "team", "user", "node", "pool", "label"] as const;
const STEPS = ["total", "hour", "day", "month"] as const;

const MEASURES = [
  { value: "cost", label: "Cost" },
  { value: "cpuCoreSeconds", label: "CPU (core-seconds)" },
  { value: "memoryGbHours", label: "Memory (GB-hours)" },
  { value: "networkTxGb", label: "Network sent (GB)" },
  { value: "networkRxGb", label: "Network received (GB)" },
  { value: "blockIoGb", label: "Block IO (GB)" },
  { value: "containerHours", label: "Container-hours" },
] as const satisfies readonly { value: keyof UsageAmounts; label: string }[];
type Measure = (typeof MEASURES)[number]["value"];

const COLORS = ["blue.6", "teal.6", "grape.6", "orange.6", "red.6", "cyan.6", "lime.6", "gray.6"];
const TOP_SERIES = 7;

function rangeOf(key: RangeKey, now: number): { from: number; to: number } {
  if (key === "month") {
    const d = new Date(now);
    return { from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), to: now };
  }
  return { from: now - RANGES.find((r) => r.value === key)!.ms, to: now };
}

const num = (v: number, digits: number) => (v === 0 ? "0" : v.toFixed(digits));

const AMOUNT_COLUMNS: { id: keyof UsageAmounts; header: string; digits: number }[] = [
  { id: "cpuCoreSeconds", header: "CPU (core-s)", digits: 2 },
  { id: "memoryGbHours", header: "Memory (GB-h)", digits: 6 },
  { id: "networkRxGb", header: "Net rx (GB)", digits: 6 },
  { id: "networkTxGb", header: "Net tx (GB)", digits: 6 },
  { id: "blockIoGb", header: "Block IO (GB)", digits: 6 },
  { id: "containerHours", header: "Container-h", digits: 4 },
  { id: "cost", header: "Cost", digits: 4 },
];

function columns(withPeriod: boolean, groupTitle: string): ColumnDef<UsageReportRow, unknown>[] {
  return [
    ...(withPeriod
      ? [
          {
            id: "period",
            header: "Period (UTC)",
            accessorFn: (r: UsageReportRow) => new Date(r.period).toISOString().slice(0, 16),
          } satisfies ColumnDef<UsageReportRow, unknown>,
        ]
      : []),
    {
      id: "label",
      header: groupTitle,
      accessorKey: "label",
      cell: (c) => (
        <Text fw={500} size="sm">
          {c.row.original.label || "(none)"}
        </Text>
      ),
    },
    ...AMOUNT_COLUMNS.map(
      (col) =>
        ({
          id: col.id,
          header: col.header,
          accessorFn: (r: UsageReportRow) => r[col.id],
          cell: (c) => num(c.row.original[col.id], col.digits),
          enableGlobalFilter: false,
        }) satisfies ColumnDef<UsageReportRow, unknown>,
    ),
  ];
}

/** Chart rows: one bar group per period (or per key for a total), the top keys as series. */
function chartData(r: UsageReport, measure: Measure) {
  const byKey = new Map<string, number>();
  for (const row of r.rows) byKey.set(row.label, (byKey.get(row.label) ?? 0) + row[measure]);
  const top = [...byKey.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_SERIES)
    .map(([k]) => k);
  const seriesOf = (label: string) => (top.includes(label) ? label || "(none)" : "other");
  if (r.step === "total") {
    return {
      data: [...byKey.entries()].map(([label, v]) => ({ name: label || "(none)", value: v })),
      series: [
        { name: "value", label: MEASURES.find((m) => m.value === measure)!.label, color: "blue.6" },
      ],
      dataKey: "name",
    };
  }
  const periods = new Map<number, Record<string, number | string>>();
  for (const row of r.rows) {
    const p = periods.get(row.period) ?? {
      period: new Date(row.period).toISOString().slice(0, r.step === "hour" ? 16 : 10),
    };
    const s = seriesOf(row.label);
    p[s] = ((p[s] as number | undefined) ?? 0) + row[measure];
    periods.set(row.period, p);
  }
  const names = [...new Set(r.rows.map((row) => seriesOf(row.label)))];
  return {
    data: [...periods.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v),
    series: names.map((name, i) => ({ name, color: COLORS[i % COLORS.length]! })),
    dataKey: "period",
  };
}

function downloadCsv(report: UsageReport) {
  const blob = new Blob([usageReportToCsv(report)], { type: "text/csv" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `berth-usage-${new Date(report.from).toISOString().slice(0, 10)}-by-${report.by.replace(":", "-")}.csv`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Budgets() {
  const trpc = useTRPC();
  const budgets = useQuery(trpc.usage.budgets.queryOptions(undefined, { refetchInterval: 30_000 }));
  const notes = useQuery(
    trpc.usage.notifications.queryOptions({ limit: 10 }, { refetchInterval: 30_000 }),
  );
  if (budgets.isError) return <ErrorState title="Could not load budgets" error={budgets.error} />;
  return (
    <Stack gap="xs">
      {(notes.data ?? []).slice(0, 3).map((n) => (
        <Alert
          key={n.id}
          color={n.threshold >= 100 ? "red" : "yellow"}
          icon={<IconBell aria-hidden />}
          title={`${n.team}: ${n.threshold}% of the ${n.month} budget reached`}
          data-testid="budget-notification"
        >
          Spent {n.spent.toFixed(2)} of {n.budget.toFixed(2)}
          {n.webhookResult ? ` — webhook: ${n.webhookResult}` : ""}
        </Alert>
      ))}
      {budgets.data && budgets.data.length > 0 && (
        <SimpleGrid cols={{ base: 1, md: 3 }} spacing="sm">
          {budgets.data.map((b) => (
            <Card key={b.teamId} withBorder padding="sm" data-testid="budget-card">
              <Group justify="space-between">
                <Text fw={600}>{b.team}</Text>
                <Badge color={b.percent >= 100 ? "red" : b.percent >= 80 ? "yellow" : "blue"}>
                  {b.percent.toFixed(1)}%
                </Badge>
              </Group>
              <Progress
                mt="xs"
                value={Math.min(100, b.percent)}
                color={b.percent >= 100 ? "red" : "blue"}
                aria-label={`${b.team} budget used`}
              />
              <Text size="xs" c="dimmed" mt={4}>
                {b.spent.toFixed(2)} of {b.monthlyAmount.toFixed(2)} this month · alerts at{" "}
                {b.thresholds.join(", ")}%
              </Text>
            </Card>
          ))}
        </SimpleGrid>
      )}
    </Stack>
  );
}

export default function UsagePage() {
  const trpc = useTRPC();
  const me = useMe();
  const [rangeKey, setRangeKey] = useState<RangeKey>("24h");
  // The range is fixed when chosen (or refreshed), never ticking: the query key stays stable.
  const [range, setRange] = useState(() => rangeOf("24h", Date.now()));
  const [group, setGroup] = useState<(typeof GROUPS)[number]>("container");
  const [labelKey, setLabelKey] = useState("app");
  const [step, setStep] = useState<(typeof STEPS)[number]>("total");
  const [memory, setMemory] = useState<"used" | "max-request">("used");
  const [measure, setMeasure] = useState<Measure>("cpuCoreSeconds");
  const by = group === "label" ? `label:${labelKey.trim() || "app"}` : group;
  const report = useQuery(
    trpc.usage.report.queryOptions({ ...range, by, step, memory }, { placeholderData: (p) => p }),
  );
  const r = report.data;
  const groupTitle =
    group === "label" ? `Label ${labelKey}` : group[0]!.toUpperCase() + group.slice(1);
  const cols = useMemo(() => columns(step !== "total", groupTitle), [step, groupTitle]);
  const chart = useMemo(() => (r ? chartData(r, measure) : null), [r, measure]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Usage</Title>
        <Group gap="xs">
          {me?.permissions.includes("budget.manage") && <SetBudgetButton />}
          {me?.isAdmin && <SetPriceButton />}
          <Button
            variant="default"
            leftSection={<IconRefresh size={14} aria-hidden />}
            onClick={() => setRange(rangeOf(rangeKey, Date.now()))}
          >
            Refresh
          </Button>
          <Button
            leftSection={<IconDownload size={14} aria-hidden />}
            disabled={!r}
            onClick={() => r && downloadCsv(r)}
          >
            Download CSV
          </Button>
        </Group>
      </Group>
      <Budgets />
      <Group align="flex-end" gap="sm">
        <Select
          label="Range"
          data={RANGES.map((x) => ({ value: x.value, label: x.label }))}
          value={rangeKey}
          onChange={(v) => {
            if (!v) return;
            setRangeKey(v as RangeKey);
            setRange(rangeOf(v as RangeKey, Date.now()));
          }}
          allowDeselect={false}
          w={180}
        />
        <Select
          label="Group by"
          data={GROUPS.map((g) => ({ value: g, label: g === "label" ? "label…" : g }))}
          value={group}
          onChange={(v) => v && setGroup(v as (typeof GROUPS)[number])}
          allowDeselect={false}
          w={140}
        />
        {group === "label" && (
          <TextFilter label="Label key" value={labelKey} onValue={setLabelKey} w={140} />
        )}
        <Select
          label="Step"
          data={STEPS.map((s) => ({ value: s, label: s }))}
          value={step}
          onChange={(v) => v && setStep(v as (typeof STEPS)[number])}
          allowDeselect={false}
          w={110}
        />
        <Select
          label="Memory"
          data={[
            { value: "used", label: "used" },
            { value: "max-request", label: "max(limit, used)" },
          ]}
          value={memory}
          onChange={(v) => v && setMemory(v as "used" | "max-request")}
          allowDeselect={false}
          w={170}
        />
        <Select
          label="Chart"
          data={MEASURES.map((m) => ({ value: m.value, label: m.label }))}
          value={measure}
          onChange={(v) => v && setMeasure(v as Measure)}
          allowDeselect={false}
          w={210}
        />
      </Group>
      <Text
        size="xs"
        c="dimmed"
        data-testid="usage-range"
        data-from={range.from}
        data-to={range.to}
      >
        {new Date(range.from).toISOString().slice(0, 16)} –{" "}
        {new Date(range.to).toISOString().slice(0, 16)} UTC
        {r ? ` · prices in ${r.currency}` : ""}
      </Text>
      {report.isPending ? (
        <LoadingState label="Loading usage…" />
      ) : report.isError || !r ? (
        <ErrorState
          title="Could not load usage"
          error={report.error}
          onRetry={() => void report.refetch()}
        />
      ) : r.rows.length === 0 ? (
        <EmptyState title="No usage in this range">
          Agents report what running containers use every few seconds; pick a longer range or run
          something.
        </EmptyState>
      ) : (
        <>
          {chart && (
            <Card withBorder padding="sm" data-testid="usage-chart" aria-label="Usage chart">
              <BarChart
                h={260}
                data={chart.data}
                dataKey={chart.dataKey}
                series={chart.series}
                type={r.step === "total" ? "default" : "stacked"}
                withLegend={chart.series.length > 1}
                valueFormatter={(v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3))}
                barProps={{ isAnimationActive: false }}
              />
            </Card>
          )}
          <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm" data-testid="usage-totals">
            {AMOUNT_COLUMNS.map((c) => (
              <Card key={c.id} withBorder padding="xs">
                <Text size="xs" c="dimmed">
                  Total {c.header}
                </Text>
                <Text fw={600} data-testid={`total-${c.id}`}>
                  {num(r.totals[c.id], c.digits)}
                </Text>
              </Card>
            ))}
          </SimpleGrid>
          <DataTable
            label="Usage"
            data={r.rows}
            columns={cols}
            getRowId={(x) => `${x.period}|${x.key}`}
            initialSorting={[]}
            rowTestId="usage-row"
          />
        </>
      )}
    </Stack>
  );
}
