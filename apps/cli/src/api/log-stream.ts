/**
 * `berth logs` over berth-server's raw NDJSON route (`GET /api/containers/:ref/logs`, see the
 * server's container-logs.http.ts): packed batches (core log-pack.ts) one JSON line each, then
 * `{"end": true}`, or `{"error": {kind, message}}` when it fails midway; without times the CLI
 * asks for `{text}` batches (core log-text.ts) instead of packed ones. Cheaper than the tRPC
 * SSE subscription for big logs (no SSE framing or encoder per piece on the server, no
 * EventSource parser here). A server without the route (404) gets `false` back: the caller uses
 * the subscription instead.
 */
import type { z } from "zod";
import type { ContainerLogsInputSchema } from "@berth/core";
import { LogChunkSchema, type LogChunk } from "./views";
import { TransferError } from "./archive-transfer";
import type { HttpFetch } from "./http-fetch";

type LogsInput = z.input<typeof ContainerLogsInputSchema>;

/** The route's query for `input` (the same names as the download route). */
export function logStreamUrl(server: string, input: LogsInput): string {
  const q = new URLSearchParams();
  if (input.follow) q.set("follow", "1");
  if (input.tail !== undefined) q.set("tail", String(input.tail));
  if (input.since !== undefined) q.set("since", input.since);
  if (input.until !== undefined) q.set("until", input.until);
  if (input.stream !== undefined) q.set("stream", input.stream);
  if (input.grep !== undefined) {
    q.set("grep", input.grep.pattern);
    if (input.grep.regex) q.set("regex", "1");
    if (input.grep.ignoreCase) q.set("ignoreCase", "1");
  }
  if (input.timestamps !== false) q.set("timestamps", "1");
  // Without times: text batches (core log-text.ts), the output in runs of one stream.
  else q.set("format", "text");
  const qs = q.toString();
  return `${server}/api/containers/${encodeURIComponent(input.ref)}/logs${qs ? `?${qs}` : ""}`;
}

function errorOf(body: unknown, status: number): TransferError {
  const e = (body as { error?: { kind?: string; message?: string } } | null)?.error;
  return new TransferError(
    e?.message ?? `berth-server answered HTTP ${status}`,
    e?.kind ?? "internal",
    status,
  );
}

/**
 * Streams the log into onChunk; resolves at the server's end marker, or with false when the
 * server has no such route (an older berth-server).
 */
export async function streamLogsOverHttp(
  fetch: HttpFetch,
  server: string,
  input: LogsInput,
  onChunk: (chunk: LogChunk) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const res = await fetch(logStreamUrl(server, input), {
    headers: { accept: "application/x-ndjson" },
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    // Our route answers {error: {kind, message}}; anything else at 404 means no such route.
    const kind = (body as { error?: { kind?: unknown } } | null)?.error?.kind;
    if (res.status === 404 && typeof kind !== "string") return false;
    throw errorOf(body, res.status);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  const handle = (line: string): boolean => {
    if (line === "") return false;
    const msg = JSON.parse(line) as { end?: true; error?: unknown };
    if (msg.end) return true;
    if (msg.error) throw errorOf(msg, 0);
    const chunk = LogChunkSchema.safeParse(msg);
    if (!chunk.success)
      throw new TransferError("unexpected log batch from berth-server", "internal", 0);
    onChunk(chunk.data);
    return false;
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += decoder.decode(value, { stream: true });
    let nl = rest.indexOf("\n");
    let from = 0;
    while (nl >= 0) {
      if (handle(rest.slice(from, nl))) {
        await reader.cancel().catch(() => undefined);
        return true;
      }
      from = nl + 1;
      nl = rest.indexOf("\n", from);
    }
    rest = rest.slice(from);
  }
  if (signal?.aborted) return true;
  throw new TransferError("the log stream was cut short by berth-server", "unavailable", 0);
}
