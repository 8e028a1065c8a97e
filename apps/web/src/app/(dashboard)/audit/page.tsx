"use client";
/**
 * The audit trail: every mutation, login, token use and exec session, denied attempts included,
 * filtered on the server (user, team, action prefix, target, result, time range), newest first,
 * with "Load more" and, for administrators, "Verify chain" (the hash chain, audit-chain.ts).
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Group,
  Select,
  Stack,
  Text,
  Tooltip,
} from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconAlertTriangle, IconPlayerPlay, IconShieldCheck } from "@tabler/icons-react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import Link from "next/link";
import { useMemo, useState } from "react";
import { AUDIT_RESULTS, type AuditResult } from "@berth/core";
import { useMe } from "@/components/app-frame";
import { ListPage } from "@/components/list-page";
import { EmptyState } from "@/components/query-state";
import { TextFilter } from "@/components/text-filter";
import { useCan } from "@/components/use-can";
import { RelativeTime } from "@/components/relative-time";
import { errorMessage } from "@/lib/errors";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";

type AuditRow = RouterOutputs["audit"]["list"]["items"][number];

const RESULT_COLOR = { ok: "green", denied: "orange", error: "red" } as const;

const RANGES = [
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { value: "all", label: "All time", ms: null },
] as const;

/** The session recording an exec's audit record links to (params.recording), if any. */
function recordingOf(params: unknown): string | null {
  const id = (params as { recording?: unknown } | null)?.recording;
  return typeof id === "string" ? id : null;
}

function paramsText(params: unknown): string {
  if (params === null || params === undefined) return "";
  const s = JSON.stringify(params);
  return s === "{}" ? "" : s;
}

const COLUMNS: ColumnDef<AuditRow, unknown>[] = [
  {
    id: "at",
    header: "Time",
    accessorKey: "at",
    cell: (c) => <RelativeTime at={c.row.original.at} />,
    enableGlobalFilter: false,
  },
  {
    id: "actor",
    header: "User",
    accessorFn: (r) => r.actorName ?? "",
    cell: (c) => c.row.original.actorName ?? <Text c="dimmed">anonymous</Text>,
  },
  {
    id: "action",
    header: "Action",
    accessorKey: "action",
    cell: (c) => <Code>{c.row.original.action}</Code>,
  },
  { id: "target", header: "Target", accessorFn: (r) => r.target ?? "" },
  {
    id: "result",
    header: "Result",
    accessorKey: "result",
    cell: (c) => {
      const r = c.row.original;
      const badge = (
        <Badge color={RESULT_COLOR[r.result]} variant="light" data-testid="audit-result">
          {r.result}
        </Badge>
      );
      return r.error ? (
        <Tooltip label={r.error} withArrow multiline maw={360}>
          <span tabIndex={0}>{badge}</span>
        </Tooltip>
      ) : (
        badge
      );
    },
  },
  {
    id: "details",
    header: "Details",
    enableSorting: false,
    accessorFn: (r) => `${r.error ?? ""} ${paramsText(r.params)}`,
    cell: (c) => {
      const r = c.row.original;
      const params = paramsText(r.params);
      const recording = recordingOf(r.params);
      return (
        <Stack gap={2}>
          {recording && (
            <Anchor
              component={Link}
              href={`/audit/recordings/${encodeURIComponent(recording)}`}
              size="xs"
              data-testid="audit-recording-link"
            >
              Replay session
            </Anchor>
          )}
          {r.error && (
            <Text size="xs" c="red">
              {r.error}
            </Text>
          )}
          {params && (
            <Text size="xs" c="dimmed" ff="monospace" lineClamp={2} title={params} maw={360}>
              {params}
            </Text>
          )}
        </Stack>
      );
    },
  },
  { id: "address", header: "Address", accessorFn: (r) => r.address ?? "" },
  {
    id: "seq",
    header: "Seq",
    accessorFn: (r) => r.seq ?? 0,
    enableGlobalFilter: false,
  },
];

function VerifyChain() {
  const trpc = useTRPC();
  const verify = useQuery({ ...trpc.audit.verify.queryOptions(), enabled: false, retry: false });
  const report = verify.data;
  return (
    <Stack gap="xs" align="flex-end">
      <Button
        leftSection={<IconShieldCheck size={16} aria-hidden />}
        onClick={() => void verify.refetch()}
        loading={verify.isFetching}
        variant="light"
      >
        Verify chain
      </Button>
      {verify.isError && !verify.isFetching && (
        <Alert color="red" role="alert" title="Could not verify" maw={520}>
          {errorMessage(verify.error)}
        </Alert>
      )}
      {report && !verify.isFetching && (
        <Alert
          color={report.ok ? "green" : "red"}
          role="status"
          data-testid="audit-verify"
          icon={report.ok ? <IconShieldCheck aria-hidden /> : <IconAlertTriangle aria-hidden />}
          title={
            report.ok
              ? "Chain intact"
              : `Chain broken at seq ${report.firstBad?.seq ?? "?"} (${report.firstBad?.reason})`
          }
          maw={520}
        >
          {report.ok
            ? `${report.checked} records verified${report.head ? `, seq ${report.anchor.seq + 1} to ${report.head.seq}` : ""}.`
            : `${report.firstBad?.detail}. ${report.checked} records verified before it.`}
        </Alert>
      )}
    </Stack>
  );
}

export default function AuditPage() {
  const trpc = useTRPC();
  const me = useMe();
  const can = useCan();
  const [user, setUser] = useState("");
  const [team, setTeam] = useState("");
  const [action, setAction] = useState("");
  const [target, setTarget] = useState("");
  const [result, setResult] = useState<AuditResult | null>(null);
  const [range, setRange] = useState<{ value: string; from: number | undefined }>({
    value: "all",
    from: undefined,
  });
  const [filters] = useDebouncedValue({ user, team, action, target }, 300);

  const input = useMemo(
    () => ({
      limit: 100,
      ...(filters.user.trim() ? { user: filters.user.trim() } : {}),
      ...(filters.team.trim() ? { team: filters.team.trim() } : {}),
      ...(filters.action.trim() ? { action: filters.action.trim() } : {}),
      ...(filters.target.trim() ? { target: filters.target.trim() } : {}),
      ...(result ? { result } : {}),
      ...(range.from !== undefined ? { from: range.from } : {}),
    }),
    [filters, result, range.from],
  );
  const list = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(input, {
      getNextPageParam: (page) => page.nextCursor,
      refetchInterval: 10_000,
    }),
  );
  const rows = useMemo(() => list.data?.pages.flatMap((p) => p.items), [list.data]);

  return (
    <ListPage
      title="Audit"
      actions={
        <Group align="flex-start">
          {can("team.manage") && (
            <Button
              component={Link}
              href="/audit/recordings"
              variant="default"
              leftSection={<IconPlayerPlay size={16} aria-hidden />}
            >
              Session recordings
            </Button>
          )}
          {me?.isAdmin && <VerifyChain />}
        </Group>
      }
      query={{
        isPending: list.isPending,
        isError: list.isError,
        error: list.error,
        data: rows,
        refetch: () => list.refetch(),
      }}
      what="audit records"
      empty={
        <EmptyState title="No audit records match">
          Change the filters, or widen the time range. `berth audit ls` shows the same records.
        </EmptyState>
      }
      filterPlaceholder="within the loaded records…"
      filterControls={
        <Group align="flex-end" gap="sm">
          <TextFilter
            label="User"
            placeholder="name or id"
            value={user}
            onValue={setUser}
            w={140}
          />
          {me?.isAdmin && (
            <TextFilter label="Team" placeholder="team id" value={team} onValue={setTeam} w={140} />
          )}
          <TextFilter
            label="Action"
            placeholder="prefix: containers."
            value={action}
            onValue={setAction}
            w={180}
          />
          <TextFilter
            label="Target"
            placeholder="contains…"
            value={target}
            onValue={setTarget}
            w={140}
          />
          <Select
            label="Result"
            placeholder="any"
            data={[...AUDIT_RESULTS]}
            value={result}
            onChange={(v) => setResult(AUDIT_RESULTS.find((r) => r === v) ?? null)}
            clearable
            w={120}
          />
          <Select
            label="Time"
            data={RANGES.map((r) => ({ value: r.value, label: r.label }))}
            value={range.value}
            onChange={(v) => {
              const r = RANGES.find((x) => x.value === v) ?? RANGES[RANGES.length - 1]!;
              setRange({ value: r.value, from: r.ms === null ? undefined : Date.now() - r.ms });
            }}
            allowDeselect={false}
            w={160}
          />
        </Group>
      }
      columns={COLUMNS}
      getRowId={(r) => String(r.id)}
      initialSorting={[{ id: "at", desc: true }]}
      rowTestId="audit-row"
    >
      {list.hasNextPage && (
        <Group justify="center">
          <Button
            variant="default"
            onClick={() => void list.fetchNextPage()}
            loading={list.isFetchingNextPage}
          >
            Load more
          </Button>
        </Group>
      )}
    </ListPage>
  );
}
