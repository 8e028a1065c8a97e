"use client";
import { Code, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo } from "react";
import { useMe } from "@/components/app-frame";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import {
  CreateVolumeButton,
  RemoveVolumeButton,
  type VolumeRow,
} from "@/components/volume-actions";
import { useTRPC } from "@/lib/trpc";

function columns(canWrite: boolean): ColumnDef<VolumeRow, unknown>[] {
  return [
    {
      id: "name",
      header: "Name",
      accessorKey: "name",
      cell: (c) => <Text fw={500}>{c.row.original.name}</Text>,
    },
    { id: "node", header: "Node", accessorKey: "nodeName" },
    {
      id: "mountpoint",
      header: "Mountpoint",
      accessorKey: "mountpoint",
      cell: (c) => <Code>{c.row.original.mountpoint}</Code>,
    },
    {
      id: "created",
      header: "Created",
      accessorKey: "createdAt",
      cell: (c) => <RelativeTime at={c.row.original.createdAt} />,
      enableGlobalFilter: false,
    },
    ...(canWrite
      ? [
          {
            id: "actions",
            header: "Actions",
            enableSorting: false,
            enableGlobalFilter: false,
            cell: (c) => <RemoveVolumeButton volume={c.row.original} />,
          } satisfies ColumnDef<VolumeRow, unknown>,
        ]
      : []),
  ];
}

export default function VolumesPage() {
  const trpc = useTRPC();
  const me = useMe();
  const volumes = useQuery(trpc.volumes.list.queryOptions(undefined, { refetchInterval: 5000 }));
  // volumes.create/remove need containers.write: owners, operators and admins.
  const canWrite = !!me && (me.isAdmin || me.role !== "viewer");
  const cols = useMemo(() => columns(canWrite), [canWrite]);

  return (
    <ListPage
      title="Volumes"
      actions={canWrite && <CreateVolumeButton />}
      query={volumes}
      what="volumes"
      empty={
        <EmptyState title="No volumes on the online nodes">
          Create one here or with `berth volume create NAME`; `berth run -v NAME:/path` also creates
          it on first use.
        </EmptyState>
      }
      filterPlaceholder="name, node, mountpoint…"
      columns={cols}
      getRowId={(v) => `${v.nodeId}/${v.name}`}
      initialSorting={[{ id: "name", desc: false }]}
      rowTestId="volume-row"
    />
  );
}
