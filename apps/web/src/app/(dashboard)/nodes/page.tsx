"use client";
import { Button, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconPlus } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo } from "react";
import { formatBytes } from "@berth/core";
import { AddNodeModal } from "@/components/add-node-modal";
import { useMe } from "@/components/app-frame";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
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
      cell: (c) => <Text fw={500}>{c.row.original.name}</Text>,
    },
    {
      id: "status",
      header: "Status",
      accessorKey: "status",
      cell: (c) => <NodeStatusBadge status={c.row.original.status} />,
    },
    { id: "hostname", header: "Hostname", accessorFn: (n) => n.facts?.hostname ?? "" },
    { id: "kernel", header: "Kernel", accessorFn: (n) => n.facts?.kernel ?? "" },
    {
      id: "cgroup",
      header: "Cgroup",
      accessorFn: (n) => (n.facts ? `v${n.facts.cgroup.version} (${n.facts.cgroup.mode})` : ""),
    },
    {
      id: "runtime",
      header: "Runtime",
      accessorFn: (n) => (n.facts ? `${n.facts.runtime.name} ${n.facts.runtime.version}` : ""),
    },
    {
      id: "cpus",
      header: "CPUs",
      accessorFn: (n) => n.facts?.cpus ?? 0,
      cell: (c) => c.row.original.facts?.cpus ?? "—",
    },
    {
      id: "memory",
      header: "Memory",
      accessorFn: (n) => n.facts?.memoryBytes ?? 0,
      cell: (c) => (c.row.original.facts ? formatBytes(c.row.original.facts.memoryBytes) : "—"),
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
  ];
}

export default function NodesPage() {
  const trpc = useTRPC();
  const me = useMe();
  const [addOpened, addModal] = useDisclosure(false);
  const nodes = useQuery(trpc.nodes.list.queryOptions(undefined, { refetchInterval: 2000 }));
  const cols = useMemo(() => columns(), []);

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
    </ListPage>
  );
}
