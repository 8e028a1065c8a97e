"use client";
import { Code, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { IconSearch } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import { useMe } from "@/components/app-frame";
import { DataTable } from "@/components/data-table";
import { EmptyState, QueryView } from "@/components/query-state";
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
  const [filter, setFilter] = useState("");
  const volumes = useQuery(trpc.volumes.list.queryOptions(undefined, { refetchInterval: 5000 }));
  // volumes.create/remove need containers.write: owners, operators and admins.
  const canWrite = !!me && (me.isAdmin || me.role !== "viewer");
  const cols = useMemo(() => columns(canWrite), [canWrite]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Volumes</Title>
        {canWrite && <CreateVolumeButton />}
      </Group>
      <QueryView
        query={volumes}
        what="volumes"
        empty={
          <EmptyState title="No volumes on the online nodes">
            Create one here or with `berth volume create NAME`; `berth run -v NAME:/path` also
            creates it on first use.
          </EmptyState>
        }
      >
        {(data) => (
          <>
            <TextInput
              label="Filter volumes"
              placeholder="name, node, mountpoint…"
              leftSection={<IconSearch size={14} aria-hidden />}
              value={filter}
              onChange={(e) => setFilter(e.currentTarget.value)}
              maw={360}
            />
            <DataTable
              label="Volumes"
              data={data}
              columns={cols}
              getRowId={(v) => `${v.nodeId}/${v.name}`}
              globalFilter={filter}
              initialSorting={[{ id: "name", desc: false }]}
              rowTestId="volume-row"
            />
          </>
        )}
      </QueryView>
    </Stack>
  );
}
