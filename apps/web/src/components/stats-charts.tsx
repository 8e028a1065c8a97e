"use client";
/**
 * Live stats charts (cpu, memory, network, IO, pids) for a container or a node. The agent keeps
 * the last hour in memory, so the charts start full even when the page opens late; then every few
 * seconds they fetch only the points newer than their newest (`afterMs`) and append them
 * (lib/stats-merge.ts). `NodeStatsCharts` is for the node page.
 */
import "@mantine/charts/styles.css";
import { LineChart } from "@mantine/charts";
import { Card, SimpleGrid, Stack, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { formatBytes, type StatsHistory } from "@berth/core";
import { EmptyState, ErrorState, LoadingState } from "@/components/query-state";
import { mergeStatsHistory } from "@/lib/stats-merge";
import { useTRPCClient } from "@/lib/trpc";

/** How often the charts ask for the newest points (the agent samples every 5 s). */
const REFRESH_MS = 5000;

interface Row {
  time: string;
  cpu: number;
  memory: number;
  limit: number | null;
  rx: number;
  tx: number;
  read: number;
  write: number;
  pids: number;
}

function toRows(h: StatsHistory): Row[] {
  return h.points.map((p) => ({
    time: new Date(p.t).toLocaleTimeString([], { hour12: false }),
    cpu: Math.round(p.cpuPercent * 10) / 10,
    memory: p.memoryBytes,
    limit: p.memoryLimitBytes,
    rx: p.netRxBps,
    tx: p.netTxBps,
    read: p.ioReadBps,
    write: p.ioWriteBps,
    pids: p.pids,
  }));
}

const bytes = (v: number) => formatBytes(Math.round(v));
const perSecond = (v: number) => `${formatBytes(Math.round(v))}/s`;

function Chart({
  title,
  rows,
  series,
  format,
  testId,
  latest,
}: {
  title: string;
  rows: Row[];
  series: { name: keyof Row; label: string; color: string }[];
  format: (v: number) => string;
  testId: string;
  latest: string;
}) {
  return (
    <Card withBorder radius="md" padding="sm" data-testid={testId} aria-label={`${title} chart`}>
      <Text size="sm" fw={600}>
        {title}{" "}
        <Text span size="xs" c="dimmed" fw={400}>
          {latest}
        </Text>
      </Text>
      <LineChart
        h={160}
        mt="xs"
        data={rows}
        dataKey="time"
        series={series.map((s) => ({ name: s.name, label: s.label, color: s.color }))}
        curveType="linear"
        withDots={false}
        strokeWidth={1.5}
        valueFormatter={format}
        withLegend={series.length > 1}
        gridAxis="y"
        xAxisProps={{ minTickGap: 40 }}
        yAxisProps={{ width: 72, tickFormatter: (v: number) => format(v) }}
        lineProps={{ isAnimationActive: false }}
        tooltipAnimationDuration={0}
      />
    </Card>
  );
}

/** The five charts of one history. */
export function StatsChartsView({ history }: { history: StatsHistory }) {
  const rows = toRows(history);
  const last = rows.at(-1);
  if (!last) {
    return (
      <EmptyState title="No samples yet">
        The agent samples every {Math.round(history.intervalMs / 1000)} s; the first points appear
        shortly.
      </EmptyState>
    );
  }
  return (
    <Stack gap="xs" data-testid="stats-charts">
      <Text size="xs" c="dimmed">
        {rows.length} samples, one every {Math.round(history.intervalMs / 1000)} s (last hour kept
        on the agent)
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="sm">
        <Chart
          title="CPU"
          testId="chart-cpu"
          rows={rows}
          series={[{ name: "cpu", label: "CPU %", color: "blue.6" }]}
          format={(v) => `${v.toFixed(1)} %`}
          latest={`${last.cpu.toFixed(1)} %`}
        />
        <Chart
          title="Memory"
          testId="chart-memory"
          rows={rows}
          series={[{ name: "memory", label: "used", color: "grape.6" }]}
          format={bytes}
          latest={`${bytes(last.memory)}${last.limit !== null ? ` of ${bytes(last.limit)}` : ""}`}
        />
        <Chart
          title="Network"
          testId="chart-network"
          rows={rows}
          series={[
            { name: "rx", label: "received", color: "teal.6" },
            { name: "tx", label: "sent", color: "orange.6" },
          ]}
          format={perSecond}
          latest={`↓ ${perSecond(last.rx)} ↑ ${perSecond(last.tx)}`}
        />
        <Chart
          title="Block IO"
          testId="chart-io"
          rows={rows}
          series={[
            { name: "read", label: "read", color: "cyan.6" },
            { name: "write", label: "written", color: "red.6" },
          ]}
          format={perSecond}
          latest={`read ${perSecond(last.read)}, written ${perSecond(last.write)}`}
        />
        <Chart
          title="Processes"
          testId="chart-pids"
          rows={rows}
          series={[{ name: "pids", label: "pids", color: "indigo.6" }]}
          format={(v) => String(Math.round(v))}
          latest={String(last.pids)}
        />
      </SimpleGrid>
    </Stack>
  );
}

/** The hour of history once, then only the newer points, merged into what the chart holds. */
function useStatsHistory(
  queryKey: readonly string[],
  fetchPage: (afterMs: number | undefined) => Promise<StatsHistory>,
  refetchInterval: number | false,
) {
  const queryClient = useQueryClient();
  return useQuery({
    queryKey,
    queryFn: async () => {
      const held = queryClient.getQueryData<StatsHistory>(queryKey);
      return mergeStatsHistory(held, await fetchPage(held?.points.at(-1)?.t));
    },
    refetchInterval,
  });
}

export function ContainerStatsCharts({
  containerRef,
  running,
}: {
  containerRef: string;
  running: boolean;
}) {
  const client = useTRPCClient();
  const q = useStatsHistory(
    ["stats-history", "container", containerRef],
    (afterMs) =>
      client.containers.statsHistory.query({
        ref: containerRef,
        ...(afterMs === undefined ? {} : { afterMs }),
      }),
    running ? REFRESH_MS : false,
  );
  if (q.isPending) return <LoadingState label="Loading stats…" />;
  if (q.isError)
    return (
      <ErrorState title="Could not load stats" error={q.error} onRetry={() => void q.refetch()} />
    );
  return <StatsChartsView history={q.data} />;
}

export function NodeStatsCharts({ nodeRef }: { nodeRef: string }) {
  const client = useTRPCClient();
  const q = useStatsHistory(
    ["stats-history", "node", nodeRef],
    (afterMs) =>
      client.nodes.statsHistory.query({
        ref: nodeRef,
        ...(afterMs === undefined ? {} : { afterMs }),
      }),
    REFRESH_MS,
  );
  if (q.isPending) return <LoadingState label="Loading node stats…" />;
  if (q.isError)
    return (
      <ErrorState
        title="Could not load node stats"
        error={q.error}
        onRetry={() => void q.refetch()}
      />
    );
  return <StatsChartsView history={q.data} />;
}
