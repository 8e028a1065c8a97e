"use client";
import { Badge, Code, Group, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo } from "react";
import { useMe } from "@/components/app-frame";
import { ListPage } from "@/components/list-page";
import {
  CreateNetworkButton,
  RemoveNetworkButton,
  type NetworkRow,
} from "@/components/network-actions";
import { EmptyState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/lib/trpc";
import { actionsColumn } from "@/components/columns";

function columns(canWrite: boolean): ColumnDef<NetworkRow, unknown>[] {
  return [
    {
      id: "name",
      header: "Name",
      accessorKey: "name",
      cell: (c) => (
        <Group gap="xs">
          <Text fw={500}>{c.row.original.name}</Text>
          {c.row.original.isDefault && <Badge variant="light">default</Badge>}
          {c.row.original.internal && <Badge variant="light">internal</Badge>}
          {!c.row.original.icc && <Badge variant="light">icc off</Badge>}
        </Group>
      ),
    },
    { id: "node", header: "Node", accessorKey: "nodeName" },
    {
      id: "subnet",
      header: "Subnet",
      accessorKey: "subnet",
      cell: (c) => <Code>{c.row.original.subnet}</Code>,
    },
    { id: "gateway", header: "Gateway", accessorKey: "gateway" },
    {
      id: "containers",
      header: "Containers",
      accessorFn: (n) => n.containers.length,
      enableGlobalFilter: false,
    },
    {
      id: "created",
      header: "Created",
      accessorKey: "createdAt",
      cell: (c) => <RelativeTime at={c.row.original.createdAt} />,
      enableGlobalFilter: false,
    },
    ...(canWrite ? [actionsColumn<NetworkRow>((n) => <RemoveNetworkButton network={n} />)] : []),
  ];
}

export default function NetworksPage() {
  const trpc = useTRPC();
  const me = useMe();
  const networks = useQuery(trpc.networks.list.queryOptions(undefined, { refetchInterval: 5000 }));
  // networks.create/remove need network.write (auth.me lists the permissions held in the team).
  const canWrite = !!me && me.permissions.includes("network.write");
  const cols = useMemo(() => columns(canWrite), [canWrite]);

  return (
    <ListPage
      title="Networks"
      actions={canWrite && <CreateNetworkButton />}
      query={networks}
      what="networks"
      empty={
        <EmptyState title="No networks on the online nodes">
          Every node has the default bridge; create your team&apos;s own here or with `berth network
          create NAME`.
        </EmptyState>
      }
      filterPlaceholder="name, node, subnet…"
      columns={cols}
      getRowId={(n) => `${n.nodeId}/${n.id}`}
      initialSorting={[{ id: "name", desc: false }]}
      rowTestId="network-row"
    />
  );
}
