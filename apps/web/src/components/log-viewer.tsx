"use client";
/**
 * A container's logs through the `containers.logs` subscription (SSE): follow, tail N,
 * since/until, stdout/stderr filter and search (the agent filters while it reads its files, so
 * only matches cross the network), timestamps toggle, and a download of the whole log or the
 * chosen range (/api/containers/:id/logs/download, streamed as text).
 *
 * Big logs stay responsive: lines go into a mutable bounded buffer (LogStore, the last 100k
 * lines; what is dropped is counted and shown as a marker row), React re-renders at most once a
 * frame, and only the visible rows exist in the DOM (@tanstack/react-virtual, fixed row height,
 * no wrapping).
 */
import {
  Alert,
  Anchor,
  Badge,
  Box,
  Button,
  Group,
  NumberInput,
  Paper,
  SegmentedControl,
  Switch,
  Text,
  TextInput,
} from "@mantine/core";
import { IconDownload, IconSearch } from "@tabler/icons-react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { errorMessage } from "@/lib/errors";
import { formatLogTimestamp } from "@/lib/format";
import { LogStore } from "@/lib/log-lines";
import { logDownloadUrl, localToRfc3339, type LogQuery } from "@/lib/log-query";
import { useTRPCClient } from "@/lib/trpc";
import { PanelBar, panelDivider } from "./panel-bar";
import { unpackLogLines } from "@berth/core";

type StreamStatus =
  | { phase: "connecting" }
  | { phase: "streaming" }
  | { phase: "ended" }
  | { phase: "error"; message: string };

/** Lines kept in the browser; older ones are dropped with a visible marker. */
const MAX_LINES = 100_000;
const ROW_PX = 19;

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
  const store = useMemo(() => new LogStore(MAX_LINES), []);
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<StreamStatus>({ phase: "connecting" });
  const [follow, setFollow] = useState(true);
  const [timestamps, setTimestamps] = useState(false);
  // The form, and the query applied (on Enter / Apply) — the subscription restarts on change.
  const [search, setSearch] = useState("");
  const [regex, setRegex] = useState(false);
  const [ignoreCase, setIgnoreCase] = useState(true);
  const [stream, setStream] = useState<"all" | "stdout" | "stderr">("all");
  const [tail, setTail] = useState<number | "">("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [query, setQuery] = useState<LogQuery>({});
  const viewRef = useRef<HTMLDivElement>(null);
  const onEndedRef = useRef(onEnded);
  useEffect(() => {
    onEndedRef.current = onEnded;
  }, [onEnded]);

  const apply = useCallback(() => {
    setQuery({
      ...(search ? { grep: { pattern: search, regex, ignoreCase } } : {}),
      ...(stream !== "all" ? { stream } : {}),
      ...(tail !== "" ? { tail } : {}),
      ...(since ? { since: localToRfc3339(since) } : {}),
      ...(until ? { until: localToRfc3339(until) } : {}),
    });
  }, [search, regex, ignoreCase, stream, tail, since, until]);

  // One render per animation frame however fast lines arrive.
  useEffect(() => {
    store.clear();
    setVersion(store.version);
    setStatus({ phase: "connecting" });
    let frame = 0;
    const bump = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setVersion(store.version);
      });
    };
    const sub = client.containers.logs.subscribe(
      { ref: containerRef, follow: query.until === undefined, packed: true, ...query },
      {
        onStarted: () => setStatus({ phase: "streaming" }),
        onData: (chunk) => {
          // The viewer never asks for `text` batches (it needs times and streams per line).
          if ("text" in chunk) return;
          store.push("packed" in chunk ? unpackLogLines(chunk.packed) : chunk.lines);
          bump();
        },
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
          setVersion(store.version);
          onEndedRef.current?.();
        },
      },
    );
    return () => {
      cancelAnimationFrame(frame);
      sub.unsubscribe();
    };
  }, [client, containerRef, query, store]);

  const marker = store.dropped > 0 ? 1 : 0;
  const count = store.lines.length + marker;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => viewRef.current,
    estimateSize: () => ROW_PX,
    overscan: 30,
  });

  useLayoutEffect(() => {
    const el = viewRef.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [version, follow, count]);

  const onScroll = useCallback(() => {
    const el = viewRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX;
    setFollow((f) => (f && !atBottom ? false : !f && atBottom ? true : f));
  }, []);

  const downloadHref = logDownloadUrl(containerRef, query, timestamps);

  return (
    <Paper withBorder radius="md" p={0}>
      <PanelBar
        title="Logs"
        status={
          <>
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
            <Text size="xs" c="dimmed" data-testid="log-count">
              {store.lines.length.toLocaleString()} lines
            </Text>
          </>
        }
      >
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
          <Button
            component="a"
            href={downloadHref}
            download
            size="xs"
            variant="default"
            leftSection={<IconDownload size={14} />}
            data-testid="log-download"
          >
            Download
          </Button>
        </Group>
      </PanelBar>
      <Box
        component="form"
        px="md"
        py="xs"
        onSubmit={(e) => {
          e.preventDefault();
          apply();
        }}
        style={panelDivider}
      >
        <Group gap="xs" align="flex-end" wrap="wrap">
          <TextInput
            size="xs"
            label="Search"
            placeholder={regex ? "regular expression" : "text"}
            leftSection={<IconSearch size={14} />}
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            w={220}
            data-testid="log-search"
          />
          <Switch
            size="xs"
            label="Regex"
            checked={regex}
            onChange={(e) => setRegex(e.currentTarget.checked)}
          />
          <Switch
            size="xs"
            label="Ignore case"
            checked={ignoreCase}
            onChange={(e) => setIgnoreCase(e.currentTarget.checked)}
          />
          <SegmentedControl
            size="xs"
            aria-label="Stream"
            data={[
              { value: "all", label: "All" },
              { value: "stdout", label: "stdout" },
              { value: "stderr", label: "stderr" },
            ]}
            value={stream}
            onChange={(v) => setStream(v as typeof stream)}
          />
          <NumberInput
            size="xs"
            label="Tail"
            placeholder="all"
            min={0}
            max={10_000_000}
            value={tail}
            onChange={(v) => setTail(typeof v === "number" ? v : "")}
            w={90}
          />
          <TextInput
            size="xs"
            type="datetime-local"
            label="Since"
            step={1}
            value={since}
            onChange={(e) => setSince(e.currentTarget.value)}
          />
          <TextInput
            size="xs"
            type="datetime-local"
            label="Until"
            step={1}
            value={until}
            onChange={(e) => setUntil(e.currentTarget.value)}
          />
          <Button size="xs" type="submit" data-testid="log-apply">
            Apply
          </Button>
        </Group>
      </Box>
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
          lineHeight: `${ROW_PX}px`,
          height: "min(60vh, 560px)",
          overflow: "auto",
          padding: "8px 12px",
          whiteSpace: "pre",
          background: "var(--mantine-color-dark-8)",
          color: "var(--mantine-color-gray-2)",
        }}
      >
        {count === 0 && status.phase !== "error" && (
          <Text c="dimmed" size="sm" ff="monospace">
            {status.phase === "ended"
              ? query.grep
                ? "(no matching lines)"
                : "(no output)"
              : "waiting for output…"}
          </Text>
        )}
        <div style={{ height: virtualizer.getTotalSize(), position: "relative", minWidth: "100%" }}>
          {virtualizer.getVirtualItems().map((row) => {
            const style = {
              position: "absolute" as const,
              top: 0,
              left: 0,
              height: ROW_PX,
              transform: `translateY(${row.start}px)`,
            };
            if (marker && row.index === 0) {
              return (
                <div
                  key="dropped"
                  style={{ ...style, color: "var(--mantine-color-yellow-5)" }}
                  data-testid="log-dropped"
                >
                  … {store.dropped.toLocaleString()} older lines dropped from view —{" "}
                  <Anchor href={downloadHref} download size="sm">
                    download the log
                  </Anchor>{" "}
                  to see them
                </div>
              );
            }
            const l = store.lines[row.index - marker];
            if (!l) return null;
            return (
              <div
                key={l.seq}
                data-stream={l.stream}
                data-testid="log-line"
                style={
                  l.stream === "stderr" ? { ...style, color: "var(--mantine-color-red-4)" } : style
                }
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
            );
          })}
        </div>
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
