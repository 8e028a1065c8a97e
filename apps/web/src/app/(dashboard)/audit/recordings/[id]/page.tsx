"use client";
/** One recorded terminal session: who, where, when, and the player (recording-player.tsx). */
import { Alert, Anchor, Breadcrumbs, Code, Group, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useParams } from "next/navigation";
import { formatBytes } from "@berth/core";
import { DetailLoadError } from "@/components/detail-load-error";
import { LoadingState } from "@/components/query-state";
import { RecordingPlayer } from "@/components/recording-player";
import { formatDateTime, formatDuration } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";

export default function RecordingPage() {
  const params = useParams<{ id: string }>();
  const id = decodeURIComponent(params.id);
  const trpc = useTRPC();
  const rec = useQuery(trpc.recordings.get.queryOptions({ id }, { staleTime: Infinity }));

  if (rec.isPending) return <LoadingState label="Loading recording…" />;
  if (rec.isError)
    return (
      <DetailLoadError
        what="recording"
        error={rec.error}
        onRetry={() => void rec.refetch()}
        listHref="/audit/recordings"
        listName="recordings"
      />
    );
  const { recording: r, header, events } = rec.data;
  return (
    <Stack>
      <Breadcrumbs>
        <Anchor component={Link} href="/audit">
          Audit
        </Anchor>
        <Anchor component={Link} href="/audit/recordings">
          Session recordings
        </Anchor>
        <Text>{r.id}</Text>
      </Breadcrumbs>
      <Stack gap={2}>
        <Title order={1}>
          {r.username ?? "?"}@{r.containerName}
        </Title>
        <Group gap="md">
          <Code>{r.argv.join(" ")}</Code>
          <Text size="sm" c="dimmed">
            {formatDateTime(r.startedAt)}
            {r.endedAt !== null
              ? `, ${formatDuration(r.endedAt - r.startedAt)}`
              : ", still running"}
            {r.exitCode !== null ? `, exit ${r.exitCode}` : ""} · {formatBytes(r.bytes)} of output
          </Text>
        </Group>
      </Stack>
      {r.truncated && (
        <Alert color="orange" title="Truncated">
          The session printed more than the server keeps per recording; the end is missing.
        </Alert>
      )}
      {events.length === 0 ? (
        <Alert color="gray" title="No output">
          This session printed nothing.
        </Alert>
      ) : (
        <RecordingPlayer header={header} events={events} />
      )}
    </Stack>
  );
}
