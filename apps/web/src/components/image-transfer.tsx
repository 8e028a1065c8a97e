"use client";
import { Alert, Button, Code, Progress, Table, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconCloudDownload } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { formatBytes, ImageRefSchema, shortImageId, type TransferProgressBody } from "@berth/core";
import { errorMessage } from "@/lib/errors";
import { useTRPC, useTRPCClient } from "@/lib/trpc";
import { FormModal } from "./form-modal";

type Job =
  | { kind: "pull"; ref: string; node?: string }
  | { kind: "push"; source: string; target: string; node?: string };

/**
 * Runs one `images.pull` / `images.push` subscription and keeps the latest progress of each
 * blob (a bar per layer, like docker's), the result, or the error.
 */
function useTransfer(job: Job | null) {
  const client = useTRPCClient();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [blobs, setBlobs] = useState<Map<string, TransferProgressBody>>(new Map());
  const [result, setResult] = useState<{ digest: string; ref: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = useRef(
    () => void queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() }),
  );
  useEffect(() => {
    if (!job) return;
    setBlobs(new Map());
    setResult(null);
    setError(null);
    const handlers = {
      onData: (c: { progress?: TransferProgressBody[]; digest?: string; ref?: string }) => {
        if (c.progress)
          setBlobs((m) => {
            const next = new Map(m);
            for (const p of c.progress!) next.set(p.digest, p);
            return next;
          });
        if (c.digest !== undefined) setResult({ digest: c.digest, ref: c.ref ?? "" });
      },
      onError: (err: unknown) => setError(errorMessage(err)),
      onComplete: () => refresh.current(),
      // tRPC's SSE link reports an error the server raises before the stream starts (a missing
      // tag, a refused login) as a connection error and would reconnect forever: stop there.
      onConnectionStateChange: (state: { state: string; error?: unknown }) => {
        if (state.state !== "connecting" || !state.error) return;
        setError(errorMessage(state.error));
        stop();
      },
    };
    const live: { sub?: { unsubscribe(): void }; stopped: boolean } = { stopped: false };
    const stop = () => {
      live.stopped = true;
      live.sub?.unsubscribe();
    };
    const sub =
      job.kind === "pull"
        ? client.images.pull.subscribe(
            { ref: job.ref, ...(job.node ? { node: job.node } : {}) },
            handlers,
          )
        : client.images.push.subscribe(
            { source: job.source, target: job.target, ...(job.node ? { node: job.node } : {}) },
            handlers,
          );
    live.sub = sub;
    if (live.stopped) sub.unsubscribe();
    return () => sub.unsubscribe();
  }, [client, job]);
  return { blobs: [...blobs.values()], result, error };
}

function TransferProgressTable({ blobs }: { blobs: TransferProgressBody[] }) {
  if (blobs.length === 0) return null;
  return (
    <Table aria-label="Transfer progress" data-testid="transfer-progress">
      <Table.Tbody>
        {blobs.map((b) => (
          <Table.Tr key={b.digest}>
            <Table.Td w={120}>
              <Code>{shortImageId(b.digest)}</Code>
            </Table.Td>
            <Table.Td w={90}>{b.kind}</Table.Td>
            <Table.Td w={110}>{b.status}</Table.Td>
            <Table.Td>
              <Progress
                value={b.total > 0 ? (100 * b.done) / b.total : b.status === "done" ? 100 : 0}
                aria-label={`${b.kind} ${shortImageId(b.digest)}`}
              />
            </Table.Td>
            <Table.Td w={150}>
              <Text size="xs">
                {formatBytes(b.done)} / {formatBytes(b.total)}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function TransferStatus({
  blobs,
  result,
  error,
  verb,
}: {
  blobs: TransferProgressBody[];
  result: { digest: string; ref: string } | null;
  error: string | null;
  verb: string;
}) {
  return (
    <>
      <TransferProgressTable blobs={blobs} />
      {result && (
        <Alert color="green" title={`${verb} complete`} data-testid="transfer-done">
          {result.ref} — {shortImageId(result.digest)}
        </Alert>
      )}
      {error && (
        <Alert color="red" title={`The ${verb.toLowerCase()} failed`} role="alert">
          {error}
        </Alert>
      )}
    </>
  );
}

/** "Pull image": a reference, pulled on the only online node (or the node the server picks). */
export function PullImageButton() {
  const [opened, setOpened] = useState(false);
  const [ref, setRef] = useState("");
  const [job, setJob] = useState<Job | null>(null);
  const { blobs, result, error } = useTransfer(job);
  const valid = ImageRefSchema.safeParse(ref.trim());
  const running = job !== null && result === null && error === null;
  useEffect(() => {
    if (result) notifications.show({ color: "green", title: "Image pulled", message: result.ref });
  }, [result]);
  return (
    <>
      <Button
        variant="light"
        leftSection={<IconCloudDownload size={16} aria-hidden />}
        onClick={() => setOpened(true)}
      >
        Pull image
      </Button>
      <FormModal
        opened={opened}
        onClose={() => {
          setOpened(false);
          setJob(null);
        }}
        title="Pull an image"
        size="xl"
        onSubmit={() => {
          if (valid.success) setJob({ kind: "pull", ref: valid.data });
        }}
        submitLabel="Pull"
        submitDisabled={!valid.success}
        pending={running}
      >
        <TextInput
          label="Image"
          description="NAME[:TAG] or NAME@sha256:…, e.g. registry.example:5000/team/app:1"
          value={ref}
          onChange={(e) => setRef(e.currentTarget.value)}
          error={ref.trim() !== "" && !valid.success ? "not a valid image reference" : null}
          data-autofocus
        />
        <TransferStatus blobs={blobs} result={result} error={error} verb="Pull" />
      </FormModal>
    </>
  );
}

/** The Push dialog of one image row: pushes it to a registry under a reference of its own. */
export function PushImageModal({
  source,
  nodeId,
  opened,
  onClose,
}: {
  source: string;
  nodeId: string;
  opened: boolean;
  onClose: () => void;
}) {
  const [target, setTarget] = useState(source);
  const [job, setJob] = useState<Job | null>(null);
  const { blobs, result, error } = useTransfer(job);
  const valid = ImageRefSchema.safeParse(target.trim());
  const running = job !== null && result === null && error === null;
  useEffect(() => {
    if (result) notifications.show({ color: "green", title: "Image pushed", message: result.ref });
  }, [result]);
  return (
    <FormModal
      opened={opened}
      onClose={() => {
        onClose();
        setJob(null);
      }}
      title={`Push ${source}`}
      size="xl"
      onSubmit={() => {
        if (valid.success) setJob({ kind: "push", source, target: valid.data, node: nodeId });
      }}
      submitLabel="Push"
      submitDisabled={!valid.success}
      pending={running}
    >
      <TextInput
        label="Push to"
        description="registry/name:tag — the team's login for that registry is used (berth login REGISTRY)"
        value={target}
        onChange={(e) => setTarget(e.currentTarget.value)}
        error={valid.success ? null : "not a valid image reference"}
      />
      <TransferStatus blobs={blobs} result={result} error={error} verb="Push" />
    </FormModal>
  );
}
