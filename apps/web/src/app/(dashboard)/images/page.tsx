"use client";
import { Code, Group, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo } from "react";
import { formatBytes, shortImageId, splitImageRef } from "@berth/core";
import { useMe } from "@/components/app-frame";
import { BuildImageButton } from "@/components/build-image-button";
import { PullImageButton } from "@/components/image-transfer";
import { ImageActions, PruneImagesButton, type ImageRow } from "@/components/image-actions";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
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
  const images = useQuery(trpc.images.list.queryOptions(undefined, { refetchInterval: 5000 }));
  // Pull, tag and remove need image.* permissions (auth.me lists those held in the team).
  const canWrite = !!me && me.permissions.includes("image.pull");
  const cols = useMemo(() => columns(canWrite), [canWrite]);

  return (
    <ListPage
      title="Images"
      actions={
        canWrite && (
          <Group gap="xs">
            <PullImageButton />
            <BuildImageButton />
            <PruneImagesButton />
          </Group>
        )
      }
      query={images}
      what="images"
      empty={
        <EmptyState title="No images on the online nodes">
          Every node seeds a built-in busybox image when its agent starts; pulled and built images
          show here too.
        </EmptyState>
      }
      filterPlaceholder="repository, tag, id, node…"
      columns={cols}
      getRowId={(i) => `${i.nodeId}/${i.ref}`}
      initialSorting={[{ id: "repository", desc: false }]}
      rowTestId="image-row"
    />
  );
}
