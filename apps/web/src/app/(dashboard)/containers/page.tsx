"use client";
import { Anchor, Button, Code, Stack, Switch, Text, VisuallyHidden } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconPlayerPlay } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import Link from "next/link";
import { useMemo, useState } from "react";
import { ContainerActions } from "@/components/container-actions";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
import { RunContainerModal } from "@/components/run-container-modal";
import { ContainerStateBadge } from "@/components/status-badges";
import { RelativeTime } from "@/components/relative-time";
import { formatCommand } from "@/lib/format";
import { useTRPC, type ContainerView } from "@/lib/trpc";

function columns(): ColumnDef<ContainerView, unknown>[] {
  return [
    {
      id: "name",
      header: "Name",
      accessorKey: "name",
      cell: (c) => (
        <Stack gap={0}>
          <Anchor component={Link} href={`/containers/${c.row.original.id}`} fw={500}>
            {c.row.original.name}
          </Anchor>
          <Text size="xs" c="dimmed" ff="monospace">
            {c.row.original.shortId}
          </Text>
        </Stack>
      ),
    },
    { id: "image", header: "Image", accessorKey: "image" },
    {
      id: "command",
      header: "Command",
      accessorFn: (c) => formatCommand(c.command),
      cell: (c) => (
        <Code
          style={{
            whiteSpace: "nowrap",
            maxWidth: 280,
            overflow: "hidden",
            textOverflow: "ellipsis",
            display: "inline-block",
          }}
        >
          {formatCommand(c.row.original.command)}
        </Code>
      ),
    },
    {
      id: "state",
      header: "State",
      accessorKey: "state",
      cell: (c) => (
        <ContainerStateBadge state={c.row.original.state} exitCode={c.row.original.exitCode} />
      ),
    },
    {
      id: "exitCode",
      header: "Exit code",
      accessorFn: (c) => c.exitCode ?? -1,
      cell: (c) => (
        <Text size="sm" data-testid="container-exit-code">
          {c.row.original.exitCode ?? "—"}
          {c.row.original.oomKilled ? " (OOM)" : ""}
        </Text>
      ),
      enableGlobalFilter: false,
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
      id: "actions",
      header: () => <VisuallyHidden>Actions</VisuallyHidden>,
      enableSorting: false,
      enableGlobalFilter: false,
      cell: (c) => <ContainerActions container={c.row.original} compact />,
    },
  ];
}

export default function ContainersPage() {
  const trpc = useTRPC();
  const [runningOnly, setRunningOnly] = useState(false);
  const [runOpened, runModal] = useDisclosure(false);
  const containers = useQuery(
    trpc.containers.list.queryOptions({ all: !runningOnly }, { refetchInterval: 2000 }),
  );
  const cols = useMemo(() => columns(), []);

  return (
    <ListPage
      title="Containers"
      actions={
        <Button leftSection={<IconPlayerPlay size={16} aria-hidden />} onClick={runModal.open}>
          Run container
        </Button>
      }
      query={containers}
      what="containers"
      empty={
        <EmptyState title={runningOnly ? "No running containers" : "No containers yet"}>
          {runningOnly
            ? "Turn off “Running only” to see stopped ones."
            : "Use “Run container” to start one."}
        </EmptyState>
      }
      filterPlaceholder="name, image, command, node…"
      filterControls={
        <Switch
          label="Running only"
          checked={runningOnly}
          onChange={(e) => setRunningOnly(e.currentTarget.checked)}
          mb={8}
        />
      }
      columns={cols}
      getRowId={(c) => c.id}
      initialSorting={[{ id: "created", desc: true }]}
      rowTestId="container-row"
    >
      <RunContainerModal opened={runOpened} onClose={runModal.close} />
    </ListPage>
  );
}
