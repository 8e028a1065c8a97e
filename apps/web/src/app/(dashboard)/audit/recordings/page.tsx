"use client";
/**
 * Recorded terminal sessions (the server records them with BERTH_RECORD_SESSIONS=1): newest
 * first, for owners (their team) and administrators (every team); each opens the player.
 */
import { Anchor, Badge, Breadcrumbs, Code, Group, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import Link from "next/link";
import { useState } from "react";
import { formatBytes } from "@berth/core";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { TextFilter } from "@/components/text-filter";
import { useDebouncedValue } from "@mantine/hooks";
import { formatDuration } from "@/lib/format";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";

type RecordingRow = RouterOutputs["recordings"]["list"][number];

const COLUMNS: ColumnDef<RecordingRow, unknown>[] = [
  {
    id: "startedAt",
    header: "Started",
    accessorKey: "startedAt",
    cell: (c) => <RelativeTime at={c.row.original.startedAt} />,
    enableGlobalFilter: false,
  },
  {
    id: "session",
    header: "Session",
    accessorFn: (r) => `${r.containerName} ${r.argv.join(" ")}`,
    cell: (c) => {
      const r = c.row.original;
      return (
        <Anchor
          component={Link}
          href={`/audit/recordings/${encodeURIComponent(r.id)}`}
          data-testid="recording-link"
        >
          {r.containerName}: <Code>{r.argv.join(" ")}</Code>
        </Anchor>
      );
    },
  },
  { id: "user", header: "User", accessorFn: (r) => r.username ?? "" },
  {
    id: "duration",
    header: "Duration",
    accessorFn: (r) => (r.endedAt === null ? -1 : r.endedAt - r.startedAt),
    cell: (c) => {
      const r = c.row.original;
      return r.endedAt === null ? (
        <Badge variant="light" color="blue">
          running
        </Badge>
      ) : (
        formatDuration(r.endedAt - r.startedAt)
      );
    },
    enableGlobalFilter: false,
  },
  {
    id: "bytes",
    header: "Output",
    accessorKey: "bytes",
    cell: (c) => {
      const r = c.row.original;
      return (
        <Group gap={6} wrap="nowrap">
          <Text size="sm">{formatBytes(r.bytes)}</Text>
          {r.truncated && (
            <Badge variant="light" color="orange" title="the output went past the server's cap">
              truncated
            </Badge>
          )}
        </Group>
      );
    },
    enableGlobalFilter: false,
  },
  {
    id: "exit",
    header: "Exit",
    accessorFn: (r) => r.exitCode ?? -1,
    cell: (c) => c.row.original.exitCode ?? "—",
    enableGlobalFilter: false,
  },
];

export default function RecordingsPage() {
  const trpc = useTRPC();
  const [container, setContainer] = useState("");
  const [user, setUser] = useState("");
  const [filters] = useDebouncedValue({ container, user }, 300);
  const list = useQuery(
    trpc.recordings.list.queryOptions(
      {
        limit: 200,
        ...(filters.container.trim() ? { container: filters.container.trim() } : {}),
        ...(filters.user.trim() ? { user: filters.user.trim() } : {}),
      },
      { refetchInterval: 10_000 },
    ),
  );
  return (
    <>
      <Breadcrumbs mb="sm">
        <Anchor component={Link} href="/audit">
          Audit
        </Anchor>
        <Text>Session recordings</Text>
      </Breadcrumbs>
      <ListPage
        title="Session recordings"
        query={list}
        what="recordings"
        empty={
          <EmptyState title="No recorded sessions">
            Terminal sessions are recorded when berth-server runs with BERTH_RECORD_SESSIONS=1
            (output and resizes, never keystrokes). `berth audit recordings` lists the same.
          </EmptyState>
        }
        filterPlaceholder="container, command, user…"
        filterControls={
          <Group align="flex-end" gap="sm">
            <TextFilter
              label="Container"
              placeholder="name or id"
              value={container}
              onValue={setContainer}
              w={160}
            />
            <TextFilter
              label="User"
              placeholder="username"
              value={user}
              onValue={setUser}
              w={140}
            />
          </Group>
        }
        columns={COLUMNS}
        getRowId={(r) => r.id}
        initialSorting={[{ id: "startedAt", desc: true }]}
        rowTestId="recording-row"
      />
    </>
  );
}
