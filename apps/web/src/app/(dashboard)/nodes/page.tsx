"use client";
import { Anchor, Badge, Button, Group, Stack, Text, Title, VisuallyHidden } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconPlus } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import Link from "next/link";
import { useMemo } from "react";
import { formatBytes } from "@berth/core";
import { AddNodeModal } from "@/components/add-node-modal";
import { useMe } from "@/components/app-frame";
import { ListPage } from "@/components/list-page";
import {
  JoinTokensSection,
  LabelBadges,
  NodeActions,
  useNodePermissions,
} from "@/components/node-actions";
import { EmptyState } from "@/components/query-state";
import { PoolsSection } from "@/components/pool-admin";
import { NodeStatusBadge } from "@/components/status-badges";
import { RelativeTime } from "@/components/relative-time";
import { formatRatio } from "@/lib/format";
import { useTRPC, type NodeView } from "@/lib/trpc";

function columns(): ColumnDef<NodeView, unknown>[] {
  return [
    {
      id: "name",
      header: "Name",
      accessorKey: "name",
      cell: (c) => (
        <Anchor component={Link} href={`/nodes/${c.row.original.id}`} fw={500}>
          {c.row.original.name}
        </Anchor>
      ),
    },
    {
      id: "status",
      header: "Status",
      accessorFn: (n) => `${n.status}${n.cordoned ? " cordoned" : ""}`,
      cell: (c) => (
        <Group gap={4} wrap="nowrap">
          <NodeStatusBadge status={c.row.original.status} />
          {c.row.original.cordoned && (
            <Badge color="orange" variant="light">
              cordoned
            </Badge>
          )}
        </Group>
      ),
    },
    { id: "pool", header: "Pool", accessorFn: (n) => n.poolName ?? "" },
    {
      id: "cpus",
      header: "CPU alloc.",
      accessorFn: (n) => n.allocation.cpus,
      cell: (c) => {
        const n = c.row.original;
        return n.capacity.cpus === null
          ? "—"
          : `${+n.allocation.cpus.toFixed(2)} / ${n.capacity.cpus}`;
      },
      enableGlobalFilter: false,
    },
    {
      id: "memory",
      header: "Memory alloc.",
      accessorFn: (n) => n.allocation.memoryBytes,
      cell: (c) => {
        const n = c.row.original;
        return n.capacity.memoryBytes === null
          ? "—"
          : `${formatBytes(n.allocation.memoryBytes)} / ${formatBytes(n.capacity.memoryBytes)}`;
      },
      enableGlobalFilter: false,
    },
    {
      id: "containers",
      header: "Containers",
      accessorFn: (n) => n.containers.running,
      cell: (c) => (
        <Text
          size="sm"
          aria-label={`${c.row.original.containers.running} running of ${c.row.original.containers.total}`}
        >
          {formatRatio(c.row.original.containers.running, c.row.original.containers.total)}
        </Text>
      ),
      enableGlobalFilter: false,
    },
    {
      id: "labels",
      header: "Labels",
      accessorFn: (n) =>
        Object.entries(n.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
      cell: (c) => <LabelBadges labels={c.row.original.labels} />,
      enableSorting: false,
    },
    {
      id: "hostname",
      header: "Host",
      accessorFn: (n) => (n.facts ? `${n.facts.hostname} ${n.facts.kernel}` : ""),
      cell: (c) => c.row.original.facts?.hostname ?? "—",
    },
    { id: "agent", header: "Agent", accessorFn: (n) => n.agentVersion ?? "" },
    {
      id: "lastSeen",
      header: "Last seen",
      // An online node is heard from every few seconds: "now". lastSeenAt is written on
      // connect and disconnect only, so for an offline node it is when it went away.
      accessorFn: (n) => (n.status === "online" ? Number.MAX_SAFE_INTEGER : (n.lastSeenAt ?? 0)),
      cell: (c) =>
        c.row.original.status === "online" ? (
          <Text size="sm" span>
            now
          </Text>
        ) : (
          <RelativeTime at={c.row.original.lastSeenAt} />
        ),
      enableGlobalFilter: false,
    },
    {
      id: "actions",
      header: () => <VisuallyHidden>Actions</VisuallyHidden>,
      cell: (c) => <NodeActions node={c.row.original} />,
      enableSorting: false,
      enableGlobalFilter: false,
    },
  ];
}

export default function NodesPage() {
  const trpc = useTRPC();
  const me = useMe();
  const [addOpened, addModal] = useDisclosure(false);
  const nodes = useQuery(trpc.nodes.list.queryOptions(undefined, { refetchInterval: 2000 }));
  const cols = useMemo(() => columns(), []);
  const may = useNodePermissions();

  return (
    <ListPage
      title="Nodes"
      actions={
        me?.isAdmin && (
          <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={addModal.open}>
            Add node
          </Button>
        )
      }
      query={nodes}
      what="nodes"
      empty={
        <EmptyState title="No nodes yet">
          {me?.isAdmin
            ? "Use “Add node” to create a join token and run berth-agent on a host."
            : "Ask an admin to add a node."}
        </EmptyState>
      }
      filterPlaceholder="name, hostname, kernel…"
      columns={cols}
      getRowId={(n) => n.id}
      initialSorting={[{ id: "name", desc: false }]}
      rowTestId="node-row"
    >
      <AddNodeModal opened={addOpened} onClose={addModal.close} />
      {may.manage && (
        <Stack gap="xs" mt="lg">
          <Title order={2} size="h3">
            Join tokens
          </Title>
          <JoinTokensSection />
          <Title order={2} size="h3" mt="md">
            Pools
          </Title>
          <PoolsSection />
        </Stack>
      )}
    </ListPage>
  );
}
