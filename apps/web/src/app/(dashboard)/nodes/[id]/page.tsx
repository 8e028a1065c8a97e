"use client";
import {
  Anchor,
  Badge,
  Breadcrumbs,
  Card,
  Code,
  Group,
  Progress,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useParams } from "next/navigation";
import type { ReactNode } from "react";
import { formatBytes } from "@berth/core";
import {
  EditLabelsButton,
  LabelBadges,
  NodeActions,
  useNodePermissions,
} from "@/components/node-actions";
import { NodeLiveStats } from "@/components/node-live-stats";
import { NodePoolSelect } from "@/components/pool-admin";
import { NodeStatsCharts } from "@/components/stats-charts";
import { DetailLoadError } from "@/components/detail-load-error";
import { EmptyState, LoadingState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { ContainerStateBadge, NodeStatusBadge } from "@/components/status-badges";
import { useTRPC, type NodeDetail } from "@/lib/trpc";

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Stack gap={2}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </Stack>
  );
}

function Facts({ n }: { n: NodeDetail }) {
  const f = n.facts;
  return (
    <Card withBorder radius="md" component="section" aria-label="Facts">
      {f === null ? (
        <Text size="sm" c="dimmed">
          The agent has not connected yet: no facts.
        </Text>
      ) : (
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="md">
          <Field label="Hostname">{f.hostname}</Field>
          <Field label="OS">{f.os}</Field>
          <Field label="Kernel">{f.kernel}</Field>
          <Field label="Architecture">{f.arch}</Field>
          <Field label="Cgroups">
            v{f.cgroup.version} ({f.cgroup.mode}) <Code>{f.cgroup.parent}</Code>
          </Field>
          <Field label="Runtime">
            {f.runtime.name} {f.runtime.version}
          </Field>
          <Field label="Monitor">
            {f.monitor.name} {f.monitor.version}
          </Field>
          <Field label="Agent">{n.agentVersion ?? f.agentVersion}</Field>
          <Field label="Pool">{n.poolName ?? "none (every team)"}</Field>
          <Field label="Last seen">
            {n.status === "online" ? "now" : <RelativeTime at={n.lastSeenAt} />}
          </Field>
          <Field label="Joined">
            <RelativeTime at={n.createdAt} />
          </Field>
          <Field label="ID">
            <Code>{n.id}</Code>
          </Field>
        </SimpleGrid>
      )}
    </Card>
  );
}

function Capacity({ n }: { n: NodeDetail }) {
  const cpuPct = n.capacity.cpus ? (n.allocation.cpus / n.capacity.cpus) * 100 : 0;
  const memPct = n.capacity.memoryBytes
    ? (n.allocation.memoryBytes / n.capacity.memoryBytes) * 100
    : 0;
  return (
    <Card withBorder radius="md" component="section" aria-label="Capacity and allocation">
      <Stack gap="sm">
        <Title order={2} size="h4">
          Capacity and allocation
        </Title>
        <Text size="sm" c="dimmed">
          Allocation is the sum of the limits of the containers running on the node
          {n.allocation.unlimited > 0 ? `; ${n.allocation.unlimited} run without a limit` : ""}.
        </Text>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Stack gap={4}>
            <Text size="sm">
              CPUs: {+n.allocation.cpus.toFixed(2)} of {n.capacity.cpus ?? "?"}
            </Text>
            <Progress value={Math.min(100, cpuPct)} aria-label="CPUs allocated" />
          </Stack>
          <Stack gap={4}>
            <Text size="sm">
              Memory: {formatBytes(n.allocation.memoryBytes)} of{" "}
              {n.capacity.memoryBytes !== null ? formatBytes(n.capacity.memoryBytes) : "?"}
            </Text>
            <Progress value={Math.min(100, memPct)} aria-label="Memory allocated" />
          </Stack>
        </SimpleGrid>
      </Stack>
    </Card>
  );
}

function Containers({ n }: { n: NodeDetail }) {
  return (
    <Card withBorder radius="md" component="section" aria-label="Containers">
      <Stack gap="sm">
        <Title order={2} size="h4">
          Containers
        </Title>
        {n.containerList.length === 0 ? (
          <EmptyState title="No containers">Nothing was placed on this node.</EmptyState>
        ) : (
          <Table.ScrollContainer minWidth={600}>
            <Table striped aria-label={`Containers on ${n.name}`} verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Image</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th>CPU limit</Table.Th>
                  <Table.Th>Memory limit</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {n.containerList.map((c) => (
                  <Table.Tr key={c.id} data-testid="node-container-row">
                    <Table.Td>
                      <Anchor component={Link} href={`/containers/${c.id}`} size="sm">
                        {c.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Code>{c.image}</Code>
                    </Table.Td>
                    <Table.Td>
                      <ContainerStateBadge state={c.state} exitCode={null} />
                    </Table.Td>
                    <Table.Td>
                      {c.limits.nanoCpus ? +(c.limits.nanoCpus / 1e9).toFixed(2) : "—"}
                    </Table.Td>
                    <Table.Td>
                      {c.limits.memoryBytes ? formatBytes(c.limits.memoryBytes) : "—"}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Stack>
    </Card>
  );
}

export default function NodePage() {
  const params = useParams<{ id: string }>();
  const id = decodeURIComponent(params.id);
  const trpc = useTRPC();
  const may = useNodePermissions();
  const node = useQuery(trpc.nodes.get.queryOptions({ ref: id }, { refetchInterval: 3000 }));

  if (node.isPending) return <LoadingState label="Loading node…" />;
  if (node.isError) {
    return (
      <DetailLoadError
        what="node"
        error={node.error}
        onRetry={() => void node.refetch()}
        listHref="/nodes"
        listName="nodes"
      />
    );
  }
  const n = node.data;
  const running = n.containerList.filter((c) => c.state === "running").map((c) => c.id);
  return (
    <Stack>
      <Breadcrumbs>
        <Anchor component={Link} href="/nodes">
          Nodes
        </Anchor>
        <Text>{n.name}</Text>
      </Breadcrumbs>
      <Group justify="space-between" align="flex-start">
        <Group gap="sm">
          <Title order={1}>{n.name}</Title>
          <NodeStatusBadge status={n.status} />
          {n.cordoned && (
            <Badge color="orange" variant="light">
              cordoned
            </Badge>
          )}
        </Group>
        <NodeActions node={n} />
      </Group>
      <Facts n={n} />
      <Card withBorder radius="md" component="section" aria-label="Labels">
        <Group justify="space-between">
          <Group gap="sm">
            <Text size="sm" fw={600}>
              Labels
            </Text>
            <LabelBadges labels={n.labels} />
          </Group>
          {may.manage && <EditLabelsButton node={n} />}
        </Group>
      </Card>
      {may.manage && (
        <Card withBorder radius="md" component="section" aria-label="Pool">
          <NodePoolSelect node={n} />
        </Card>
      )}
      <Capacity n={n} />
      <NodeLiveStats containerIds={running} capacity={n.capacity} />
      <Card withBorder radius="md" component="section" aria-label="Node history">
        <Title order={2} size="h4" mb="sm">
          Last hour
        </Title>
        <NodeStatsCharts nodeRef={n.id} />
      </Card>
      <Containers n={n} />
    </Stack>
  );
}
