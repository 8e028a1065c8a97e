"use client";
import { Anchor, Button, Code, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import { formatBytes } from "@berth/core";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
import {
  PublicSwitch,
  RegistryUsage,
  RepositoryDrawer,
  type RegistryRepositoryRow,
} from "@/components/registry-parts";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/lib/trpc";

function columns(open: (name: string) => void): ColumnDef<RegistryRepositoryRow, unknown>[] {
  return [
    {
      id: "name",
      header: "Repository",
      accessorKey: "name",
      cell: (c) => (
        <Anchor component="button" type="button" fw={500} onClick={() => open(c.row.original.name)}>
          {c.row.original.name}
        </Anchor>
      ),
    },
    {
      id: "public",
      header: "Visibility",
      accessorFn: (r) => (r.public ? "public" : "private"),
      cell: (c) => <PublicSwitch repo={c.row.original} />,
    },
    { id: "tags", header: "Tags", accessorKey: "tagCount", enableGlobalFilter: false },
    {
      id: "size",
      header: "Size",
      accessorKey: "sizeBytes",
      cell: (c) => formatBytes(c.row.original.sizeBytes),
      enableGlobalFilter: false,
    },
    {
      id: "lastPush",
      header: "Last push",
      accessorKey: "lastPushAt",
      cell: (c) => <RelativeTime at={c.row.original.lastPushAt} />,
      enableGlobalFilter: false,
    },
    {
      id: "lastPull",
      header: "Last pull",
      accessorKey: "lastPullAt",
      cell: (c) => <RelativeTime at={c.row.original.lastPullAt} />,
      enableGlobalFilter: false,
    },
    {
      id: "actions",
      header: "Actions",
      enableSorting: false,
      enableGlobalFilter: false,
      cell: (c) => (
        <Button
          size="xs"
          variant="light"
          onClick={() => open(c.row.original.name)}
          aria-label={`Tags of ${c.row.original.name}`}
        >
          Tags
        </Button>
      ),
    },
  ];
}

export default function RegistryPage() {
  const trpc = useTRPC();
  const repos = useQuery(
    trpc.registry.repositories.queryOptions(undefined, { refetchInterval: 10_000 }),
  );
  const info = useQuery(trpc.registry.info.queryOptions(undefined, { staleTime: Infinity }));
  const [selected, setSelected] = useState<string | null>(null);
  // setSelected is stable, so the columns are built once (no remount of cells on refetch).
  const cols = useMemo(() => columns(setSelected), []);
  const host = info.data?.host ?? "<server>";
  const selectedRepo = repos.data?.find((r) => r.name === selected) ?? null;

  return (
    <ListPage
      title="Registry"
      actions={<RegistryUsage />}
      query={repos}
      what="repositories"
      empty={
        <EmptyState title="No repositories yet">
          Push an image to berth-server&apos;s registry: <Code>docker login {host}</Code> then{" "}
          <Code>docker push {host}/&lt;team&gt;/&lt;name&gt;:&lt;tag&gt;</Code>
        </EmptyState>
      }
      filterPlaceholder="repository, public, private…"
      columns={cols}
      getRowId={(r) => r.name}
      initialSorting={[{ id: "name", desc: false }]}
      rowTestId="registry-row"
    >
      <RepositoryDrawer repo={selectedRepo} onClose={() => setSelected(null)} />
      {repos.data && (
        <Text size="xs" c="dimmed">
          Pull with <Code>docker pull {host}/&lt;repository&gt;:&lt;tag&gt;</Code>; public
          repositories need no login.
        </Text>
      )}
    </ListPage>
  );
}
