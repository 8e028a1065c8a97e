"use client";
import { Badge, Code, Group, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo } from "react";
import { formatBytes, shortImageId, splitImageRef } from "@berth/core";
import { useMe } from "@/components/app-frame";
import { BuildImageButton } from "@/components/build-image-button";
import { PullImageButton } from "@/components/image-transfer";
import { ImageActions, PruneImagesButton, type ImageRow } from "@/components/image-actions";
import { AssignImageAction } from "@/components/image-assign";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/lib/trpc";

/** Who holds the image: the system image is every team's; "none" only administrators see. */
function holders(i: ImageRow): string {
  if (i.system) return "system";
  return i.teams.length > 0 ? i.teams.join(", ") : "none";
}

function columns(canWrite: boolean, isAdmin: boolean): ColumnDef<ImageRow, unknown>[] {
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
    ...(isAdmin
      ? [
          {
            id: "team",
            header: "Team",
            accessorFn: holders,
            cell: (c) => {
              const i = c.row.original;
              if (i.system)
                return (
                  <Badge variant="light" color="gray">
                    system
                  </Badge>
                );
              if (i.teams.length === 0)
                return (
                  <Badge variant="light" color="yellow">
                    unassigned
                  </Badge>
                );
              return <Text size="sm">{i.teams.join(", ")}</Text>;
            },
          } satisfies ColumnDef<ImageRow, unknown>,
        ]
      : []),
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
      cell: (c) => (
        <Group gap={4} wrap="nowrap">
          <ImageActions image={c.row.original} canWrite={canWrite} />
          {isAdmin && !c.row.original.system && <AssignImageAction image={c.row.original} />}
        </Group>
      ),
    },
  ];
}

export default function ImagesPage() {
  const trpc = useTRPC();
  const me = useMe();
  const images = useQuery(trpc.images.list.queryOptions(undefined, { refetchInterval: 5000 }));
  // Pull, tag and remove need image.* permissions (auth.me lists those held in the team).
  const canWrite = !!me && me.permissions.includes("image.pull");
  const isAdmin = !!me?.isAdmin;
  const cols = useMemo(() => columns(canWrite, isAdmin), [canWrite, isAdmin]);

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
        <EmptyState title="No images for your team on the online nodes">
          Images belong to the team that pulled, built, loaded or tagged them; every node also
          offers its built-in busybox image. Pull or build one to see it here.
        </EmptyState>
      }
      filterPlaceholder="repository, tag, id, node…"
      columns={cols}
      getRowId={(i) => `${i.nodeId}/${i.ref}/${i.digest}`}
      initialSorting={[{ id: "repository", desc: false }]}
      rowTestId="image-row"
    />
  );
}
