"use client";
import {
  Anchor,
  Breadcrumbs,
  Card,
  Code,
  Group,
  SimpleGrid,
  Stack,
  Tabs,
  Text,
  Title,
} from "@mantine/core";
import { IconChartLine, IconFileText, IconTerminal2 } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useCallback, useState, type ReactNode } from "react";
import { formatBytes } from "@berth/core";
import { useMe } from "@/components/app-frame";
import { ContainerActions, isActive } from "@/components/container-actions";
import { ContainerNetworkCard } from "@/components/container-network";
import { LogViewer } from "@/components/log-viewer";
import { DetailLoadError } from "@/components/detail-load-error";
import { LoadingState } from "@/components/query-state";
import { ContainerStatsCharts } from "@/components/stats-charts";
import { ContainerStateBadge, HealthBadge } from "@/components/status-badges";
import { ContainerTerminal } from "@/components/terminal";
import { useNow } from "@/components/use-now";
import { formatCommand, formatDateTime, formatDuration, formatRelative } from "@/lib/format";
import { useTRPC, type ContainerView } from "@/lib/trpc";

function Field({
  label,
  children,
  testId,
}: {
  label: string;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <Stack gap={2}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" component="div" data-testid={testId}>
        {children}
      </Text>
    </Stack>
  );
}

function Details({ c, now }: { c: ContainerView; now: number }) {
  const ran = c.startedAt !== null ? formatDuration((c.finishedAt ?? now) - c.startedAt) : null;
  return (
    <Card withBorder radius="md" component="section" aria-label="Details">
      <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="md">
        <Field label="State">
          <ContainerStateBadge state={c.state} exitCode={c.exitCode} />
        </Field>
        <Field label="Exit code" testId="detail-exit-code">
          {c.exitCode ?? "—"}
          {c.oomKilled ? " (killed: out of memory)" : ""}
        </Field>
        <Field label="Health" testId="detail-health">
          {c.health
            ? `${c.health.status}${c.health.failingStreak > 0 ? `, failing streak ${c.health.failingStreak}` : ""}`
            : "no healthcheck"}
        </Field>
        <Field label="Restarts" testId="detail-restarts">
          {c.restartCount} (policy {c.restartPolicy.name}
          {c.restartPolicy.maximumRetryCount > 0 ? `:${c.restartPolicy.maximumRetryCount}` : ""})
        </Field>
        <Field label="Node">
          <Anchor component={Link} href="/nodes" size="sm">
            {c.nodeName}
          </Anchor>
        </Field>
        <Field label="Image">
          <Code>{c.image}</Code>
        </Field>
        <Field label="Command">
          <Code>{formatCommand(c.command)}</Code>
        </Field>
        <Field label="Created">
          {formatDateTime(c.createdAt)} ({formatRelative(c.createdAt, now)})
        </Field>
        <Field label="Started">{formatDateTime(c.startedAt)}</Field>
        <Field label="Finished">
          {formatDateTime(c.finishedAt)}
          {ran && ` (ran ${ran})`}
        </Field>
        <Field label="Memory limit">
          {c.limits.memoryBytes !== undefined ? formatBytes(c.limits.memoryBytes) : "none"}
        </Field>
        <Field label="PIDs limit">{c.limits.pidsLimit ?? "none"}</Field>
        <Field label="Remove on exit">{c.autoRemove ? "yes" : "no"}</Field>
        <Field label="Created by">{c.createdBy ?? "—"}</Field>
      </SimpleGrid>
      {c.error && (
        <Text c="red" size="sm" mt="md" role="alert">
          {c.error}
        </Text>
      )}
    </Card>
  );
}

export default function ContainerPage() {
  const params = useParams<{ id: string }>();
  const id = decodeURIComponent(params.id);
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const now = useNow();
  const me = useMe();
  const [tab, setTab] = useState<string | null>("logs");
  const container = useQuery(
    trpc.containers.get.queryOptions(
      { ref: id },
      // Poll while it may still change state; the log stream's end triggers a refetch too.
      { refetchInterval: (q) => (q.state.data && !isActive(q.state.data) ? 10_000 : 2000) },
    ),
  );
  const onLogsEnded = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: trpc.containers.get.queryKey({ ref: id }) });
  }, [queryClient, trpc, id]);

  if (container.isPending) return <LoadingState label="Loading container…" />;
  if (container.isError) {
    return (
      <DetailLoadError
        what="container"
        error={container.error}
        onRetry={() => void container.refetch()}
        listHref="/containers"
        listName="containers"
      />
    );
  }
  const c = container.data;
  const endedNote =
    c.state === "exited" || c.state === "dead"
      ? `container exited with code ${c.exitCode ?? "unknown"}`
      : isActive(c)
        ? "log stream ended; waiting for the container's state…"
        : `log stream ended (container ${c.state})`;

  return (
    <Stack>
      <Breadcrumbs>
        <Anchor component={Link} href="/containers">
          Containers
        </Anchor>
        <Text>{c.name}</Text>
      </Breadcrumbs>
      <Group justify="space-between" align="flex-start">
        <Stack gap={2}>
          <Group gap="sm">
            <Title order={1}>{c.name}</Title>
            <ContainerStateBadge state={c.state} exitCode={c.exitCode} />
            {c.health && c.state === "running" ? <HealthBadge health={c.health} /> : null}
          </Group>
          <Text size="sm" c="dimmed" ff="monospace">
            {c.id}
          </Text>
        </Stack>
        <ContainerActions container={c} onRemoved={() => router.push("/containers")} />
      </Group>
      <Details c={c} now={now} />
      <ContainerNetworkCard containerRef={c.id} />
      <Tabs value={tab} onChange={setTab} aria-label="Container views">
        <Tabs.List>
          <Tabs.Tab value="logs" leftSection={<IconFileText size={16} />}>
            Logs
          </Tabs.Tab>
          <Tabs.Tab value="terminal" leftSection={<IconTerminal2 size={16} />}>
            Terminal
          </Tabs.Tab>
          <Tabs.Tab value="stats" leftSection={<IconChartLine size={16} />}>
            Stats
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="logs" pt="sm">
          <LogViewer containerRef={c.id} onEnded={onLogsEnded} endedNote={endedNote} />
        </Tabs.Panel>
        <Tabs.Panel value="terminal" pt="sm">
          <ContainerTerminal
            containerRef={c.id}
            running={c.state === "running"}
            disabledReason={
              !me || me.permissions.includes("container.exec")
                ? null
                : `your role (${me.role ?? "none"}) does not allow container.exec`
            }
          />
        </Tabs.Panel>
        <Tabs.Panel value="stats" pt="sm">
          {/* Charts measure their box: mounted only while visible. */}
          {tab === "stats" && <ContainerStatsCharts containerRef={c.id} running={isActive(c)} />}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
