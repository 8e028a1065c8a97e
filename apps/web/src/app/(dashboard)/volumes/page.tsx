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

function columns(canWrite: boolean, showTeam: boolean): ColumnDef<VolumeRow, unknown>[] {
  return [
    {
      id: "name",
      header: "Name",
      accessorKey: "name",
      cell: (c) => <Text fw={500}>{c.row.original.name}</Text>,
    },
    { id: "node", header: "Node", accessorKey: "nodeName" },
    // Administrators see every team's volumes: which one owns it (none for unowned ones).
    ...(showTeam
      ? [
          {
            id: "team",
            header: "Team",
            accessorFn: (v) => v.teamName ?? "unowned",
            cell: (c) =>
              c.row.original.teamName ?? (
                <Text c="dimmed" fs="italic" span>
                  unowned
                </Text>
              ),
          } satisfies ColumnDef<VolumeRow, unknown>,
        ]
      : []),
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
  // volumes.create/remove need volume.write (auth.me lists the permissions held in the team).
  const canWrite = !!me && me.permissions.includes("volume.write");
  const isAdmin = !!me?.isAdmin;
  const cols = useMemo(() => columns(canWrite, isAdmin), [canWrite, isAdmin]);

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
      filterPlaceholder={isAdmin ? "name, node, team, mountpoint…" : "name, node, mountpoint…"}
      columns={cols}
      getRowId={(v) => `${v.nodeId}/${v.name}`}
      initialSorting={[{ id: "name", desc: false }]}
      rowTestId="volume-row"
    />
  );
}
