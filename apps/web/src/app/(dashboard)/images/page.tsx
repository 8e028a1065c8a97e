"use client";
import { Code, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { IconSearch } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import { formatBytes, shortImageId, splitImageRef } from "@berth/core";
import { useMe } from "@/components/app-frame";
import { DataTable } from "@/components/data-table";
import { ImageActions, PruneImagesButton, type ImageRow } from "@/components/image-actions";
import { EmptyState, QueryView } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/lib/trpc";

function columns(canWrite: boolean): ColumnDef<ImageRow, unknown>[] {
  return [
    {
      id: "repository",
      header: "Repository",
      accessorFn: (i) => splitImageRef(i.ref).repository,
      cell: (c) => <Text fw={500}>{splitImageRef(c.row.original.ref).repository}</Text>,
    },
    { id: "tag", header: "Tag", accessorFn: (i) => splitImageRef(i.ref).tag },
    {
      id: "id",
      header: "Image ID",
      accessorFn: (i) => shortImageId(i.digest),
      cell: (c) => <Code>{shortImageId(c.row.original.digest)}</Code>,
    },
    { id: "node", header: "Node", accessorKey: "nodeName" },
    {
      id: "created",
      header: "Created",
      accessorKey: "createdAt",
      cell: (c) => <RelativeTime at={c.row.original.createdAt} />,
      enableGlobalFilter: false,
    },
    {
      id: "size",
      header: "Size",
      accessorKey: "size",
      cell: (c) => formatBytes(c.row.original.size),
      enableGlobalFilter: false,
    },
    {
      id: "actions",
      header: "Actions",
      enableSorting: false,
      enableGlobalFilter: false,
      cell: (c) => <ImageActions image={c.row.original} canWrite={canWrite} />,
    },
  ];
}

export default function ImagesPage() {
  const trpc = useTRPC();
  const me = useMe();
  const [filter, setFilter] = useState("");
  const images = useQuery(trpc.images.list.queryOptions(undefined, { refetchInterval: 5000 }));
  // Viewers read; owners, operators and admins change images (images.write on the server).
  const canWrite = !!me && (me.isAdmin || me.role !== "viewer");
  const cols = useMemo(() => columns(canWrite), [canWrite]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Images</Title>
        {canWrite && <PruneImagesButton />}
      </Group>
      <QueryView
        query={images}
        what="images"
        empty={
          <EmptyState title="No images on the online nodes">
            Every node seeds a built-in busybox image when its agent starts; pulled and built images
            show here too.
          </EmptyState>
        }
      >
        {(data) => (
          <>
            <TextInput
              label="Filter images"
              placeholder="repository, tag, id, node…"
              leftSection={<IconSearch size={14} aria-hidden />}
              value={filter}
              onChange={(e) => setFilter(e.currentTarget.value)}
              maw={360}
            />
            <DataTable
              label="Images"
              data={data}
              columns={cols}
              getRowId={(i) => `${i.nodeId}/${i.ref}`}
              globalFilter={filter}
              initialSorting={[{ id: "repository", desc: false }]}
              rowTestId="image-row"
            />
          </>
        )}
      </QueryView>
    </Stack>
  );
}
