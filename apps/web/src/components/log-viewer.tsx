"use client";
import { Alert, Badge, Box, Group, Paper, Switch, Text } from "@mantine/core";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { errorMessage } from "@/lib/errors";
import { formatLogTimestamp } from "@/lib/format";
import { appendLogLines, emptyLogBuffer, type LogBuffer } from "@/lib/log-lines";
import { useTRPCClient } from "@/lib/trpc";

type StreamStatus =
  | { phase: "connecting" }
  | { phase: "streaming" }
  | { phase: "ended" }
  | { phase: "error"; message: string };

const MAX_LINES = 5000;

/**
 * Follows a container's output through the `containers.logs` subscription (SSE). stderr lines
 * are marked and coloured; the view sticks to the bottom while "Follow" is on, and scrolling
 * up turns it off. `onEnded` fires when the server closes the stream (the container stopped).
 */
export function LogViewer({
  containerRef,
  onEnded,
  endedNote,
}: {
  containerRef: string;
  onEnded?: () => void;
  endedNote?: string;
}) {
  const client = useTRPCClient();
  const [buf, setBuf] = useState<LogBuffer>(emptyLogBuffer);
  const [status, setStatus] = useState<StreamStatus>({ phase: "connecting" });
  const [follow, setFollow] = useState(true);
  const [timestamps, setTimestamps] = useState(false);
  const viewRef = useRef<HTMLDivElement>(null);
  const onEndedRef = useRef(onEnded);
  useEffect(() => {
    onEndedRef.current = onEnded;
  }, [onEnded]);

  useEffect(() => {
    setBuf(emptyLogBuffer());
    setStatus({ phase: "connecting" });
    const sub = client.containers.logs.subscribe(
      { ref: containerRef, follow: true },
      {
        onStarted: () => setStatus({ phase: "streaming" }),
        onData: (chunk) => setBuf((b) => appendLogLines(b, chunk.lines, MAX_LINES)),
        onError: (err) => setStatus({ phase: "error", message: errorMessage(err) }),
        // An error before the stream starts comes as a connection error, and tRPC's SSE link
        // would reconnect forever: show it and stop.
        onConnectionStateChange: (state) => {
          if (state.state !== "connecting" || !state.error) return;
          setStatus({ phase: "error", message: errorMessage(state.error) });
          sub.unsubscribe();
        },
        onComplete: () => {
          setStatus((s) => (s.phase === "error" ? s : { phase: "ended" }));
          onEndedRef.current?.();
        },
      },
    );
    return () => sub.unsubscribe();
  }, [client, containerRef]);

  useLayoutEffect(() => {
    const el = viewRef.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [buf, follow]);

  const onScroll = useCallback(() => {
    const el = viewRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
    setFollow((f) => (f && !atBottom ? false : f));
  }, []);

  return (
    <Paper withBorder radius="md" p={0}>
      <Group
        justify="space-between"
        px="md"
        py="xs"
        style={{ borderBottom: "1px solid var(--mantine-color-default-border)" }}
      >
        <Group gap="xs">
          <Text fw={600}>Logs</Text>
          <Badge
            variant="light"
            color={
              status.phase === "error"
                ? "red"
                : status.phase === "ended"
                  ? "gray"
                  : status.phase === "streaming"
                    ? "green"
                    : "blue"
            }
            data-testid="log-status"
          >
            {status.phase === "streaming" ? "live" : status.phase}
          </Badge>
          {buf.dropped > 0 && (
            <Text size="xs" c="dimmed">
              {buf.dropped} older lines not shown
            </Text>
          )}
        </Group>
        <Group gap="md">
          <Switch
            size="sm"
            label="Timestamps"
            checked={timestamps}
            onChange={(e) => setTimestamps(e.currentTarget.checked)}
          />
          <Switch
            size="sm"
            label="Follow"
            checked={follow}
            onChange={(e) => setFollow(e.currentTarget.checked)}
          />
        </Group>
      </Group>
      <Box
        ref={viewRef}
        onScroll={onScroll}
        data-testid="log-view"
        role="log"
        aria-label="Container output"
        aria-live="off"
        tabIndex={0}
        style={{
          fontFamily: "var(--mantine-font-family-monospace)",
          fontSize: 13,
          lineHeight: 1.45,
          height: "min(60vh, 560px)",
          overflow: "auto",
          padding: "8px 12px",
          whiteSpace: "pre-wrap",
          wordBreak: "break-all",
          background: "var(--mantine-color-dark-8)",
          color: "var(--mantine-color-gray-2)",
        }}
      >
        {buf.lines.length === 0 && status.phase !== "error" && (
          <Text c="dimmed" size="sm" ff="monospace">
            {status.phase === "ended" ? "(no output)" : "waiting for output…"}
          </Text>
        )}
        {buf.lines.map((l) => (
          <div
            key={l.seq}
            data-stream={l.stream}
            style={l.stream === "stderr" ? { color: "var(--mantine-color-red-4)" } : undefined}
          >
            {timestamps && (
              <span style={{ color: "var(--mantine-color-dimmed)", userSelect: "none" }}>
                {formatLogTimestamp(l.ts)}{" "}
              </span>
            )}
            {l.stream === "stderr" && (
              <span aria-label="standard error" style={{ userSelect: "none", opacity: 0.7 }}>
                {"err "}
              </span>
            )}
            {l.text}
          </div>
        ))}
      </Box>
      {status.phase === "ended" && (
        <Text px="md" py="xs" size="sm" c="dimmed" data-testid="log-ended">
          {endedNote ?? "log stream ended"}
        </Text>
      )}
      {status.phase === "error" && (
        <Alert color="red" radius={0} role="alert" title="Log stream failed">
          {status.message}
        </Alert>
      )}
    </Paper>
  );
}
