/**
 * A container's log over plain HTTP (bytes do not belong in tRPC):
 *
 *   GET /api/containers/:ref/logs/download[?since=…][&until=…][&stream=stdout|stderr][&tail=N]
 *       [&grep=…[&regex=1][&ignoreCase=1]][&timestamps=1]
 *     → text/plain, one line per record (partial records joined), streamed as the agent reads
 *   GET /api/containers/:ref/logs[?…the same…][&follow=1][&format=text]
 *     → application/x-ndjson: `{"packed": …}` batches (core log-pack.ts; times only with
 *       timestamps=1), then `{"end": true}` — or `{"error": {kind, message}}` if it fails midway.
 *       With format=text and no timestamps: `{"text": …}` batches instead (core log-text.ts: the
 *       output in runs of one stream, the agent's cheapest form; the CLI asks for it).
 *       The CLI's fast path: tRPC's SSE producer alone cost ≈0.4 s per 9 MB (web streams and
 *       an encoder per piece); this writes each batch's JSON straight to the socket.
 *
 * Authentication as tRPC (session cookie or Bearer token), permission `logs.read`. Reading logs
 * is not audited (as `containers.logs`). The response is written with back-pressure: the relay
 * waits for the socket to drain, so a slow client slows the read instead of filling memory.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ContainerLogsInputSchema, DomainError, toErrorBody, type LogLine } from "@berth/core";
import { buildContext, teamHeader, type ContextDeps } from "../../context";
import { HTTP_STATUS_BY_KIND } from "../../errors";
import { sendJson } from "../../http-json";
import { requirePermission } from "../../trpc";
import type { LogChunk } from "./container-streams";

const PATH = /^\/api\/containers\/([^/]+)\/logs(\/download)?$/;

/** The container ref and kind of a logs path, or null when the path is not one. */
export function logRoute(path: string): { ref: string; kind: "download" | "stream" } | null {
  const m = PATH.exec(path);
  if (!m) return null;
  try {
    return { ref: decodeURIComponent(m[1]!), kind: m[2] ? "download" : "stream" };
  } catch {
    return null;
  }
}

/** The container ref of a download path, or null when the path is not one. */
export function logDownloadRef(path: string): string | null {
  const r = logRoute(path);
  return r?.kind === "download" ? r.ref : null;
}

/** The logs query of a download URL (validated like `containers.logs`). */
export function logDownloadInput(ref: string, q: URLSearchParams) {
  const flag = (k: string) => q.get(k) === "1" || q.get(k) === "true";
  const grep = q.get("grep");
  const tail = q.get("tail");
  const r = ContainerLogsInputSchema.safeParse({
    ref,
    follow: flag("follow"),
    ...(q.get("since") ? { since: q.get("since") } : {}),
    ...(q.get("until") ? { until: q.get("until") } : {}),
    ...(q.get("stream") ? { stream: q.get("stream") } : {}),
    ...(tail ? { tail: Number(tail) } : {}),
    ...(grep
      ? { grep: { pattern: grep, regex: flag("regex"), ignoreCase: flag("ignoreCase") } }
      : {}),
  });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const at = issue.path.join(".");
    throw new DomainError("invalid_input", at ? `${at}: ${issue.message}` : issue.message);
  }
  return { input: r.data, timestamps: flag("timestamps"), text: q.get("format") === "text" };
}

/** The text of a chunk of lines; `open` says whether the previous chunk ended mid-line. */
export function formatLogText(
  lines: readonly LogLine[],
  timestamps: boolean,
  state: { open: boolean },
): string {
  let s = "";
  for (const l of lines) {
    if (timestamps && !state.open) s += `${l.ts} `;
    s += l.line;
    const full = l.full !== false;
    if (full) s += "\n";
    state.open = !full;
  }
  return s;
}

/** Resolves once `res` can take more (or is closed). */
async function write(res: ServerResponse, text: string): Promise<void> {
  if (text.length === 0 || res.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * The NDJSON stream of packed batches; true once the headers went out (errors after that are
 * written as a last `{error}` line by the caller).
 */
async function streamPacked(
  deps: ContextDeps,
  actor: Parameters<ContextDeps["services"]["containers"]["logs"]>[0],
  res: ServerResponse,
  signal: AbortSignal,
  input: Parameters<ContextDeps["services"]["containers"]["logs"]>[1],
): Promise<boolean> {
  const it = deps.services.containers.logs(actor, input, signal);
  // Resolve the container (and reach its node) before the headers: a clean JSON error.
  const first = it.next();
  const early = await Promise.race([first, new Promise((r) => setTimeout(r, 250, null))]);
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  // A follow of a quiet container sends its headers after 250 ms: the client knows it is on.
  if (early === null) res.flushHeaders();
  const line = (c: LogChunk) =>
    `${JSON.stringify(c.text !== undefined ? { text: c.text } : c.packed !== undefined ? { packed: c.packed } : { lines: c.lines })}\n`;
  const r = await first;
  if (!r.done) await write(res, line(r.value));
  while (!signal.aborted) {
    const next = await it.next();
    if (next.done) break;
    await write(res, line(next.value));
  }
  res.end(`${JSON.stringify({ end: true })}\n`);
  return true;
}

export function createLogDownloadRoute(deps: ContextDeps & { onError?: (m: string) => void }) {
  return async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    ref: string,
    kind: "download" | "stream" = "download",
  ) {
    const ctx = buildContext(deps, {
      cookie: req.headers.cookie,
      authorization: req.headers.authorization,
      team: teamHeader(req),
      address: req.socket.remoteAddress ?? null,
      setCookie: (value) => res.appendHeader("Set-Cookie", value),
    });
    let headersSent = false;
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      if (req.method !== "GET") {
        res.setHeader("allow", "GET");
        sendJson(res, 405, { error: { kind: "invalid_input", message: "use GET" } });
        return;
      }
      requirePermission(ctx, "logs.read");
      const url = new URL(req.url ?? "/", "http://berth.invalid");
      const { input, timestamps, text } = logDownloadInput(ref, url.searchParams);
      if (kind === "stream") {
        headersSent = await streamPacked(deps, ctx.actor, res, abort.signal, {
          ...input,
          packed: true,
          timestamps,
          ...(text && !timestamps ? { text: true } : {}),
        });
        return;
      }
      if (input.follow)
        throw new DomainError("invalid_input", "a download does not follow: drop follow=1");
      // Without times the download is the text batches' text as is (both streams, in order).
      const it = deps.services.containers.logs(
        ctx.actor,
        timestamps ? input : { ...input, packed: true, timestamps: false, text: true },
        abort.signal,
      );
      // The first chunk before the headers: an unknown container is still a clean JSON error.
      const first = await it.next();
      const name = (input.ref.replace(/[^A-Za-z0-9_.-]/g, "_") || "container") + ".log";
      res.writeHead(200, {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        "content-disposition": `attachment; filename="${name}"`,
      });
      headersSent = true;
      const state = { open: false };
      const body = (c: LogChunk) =>
        c.text !== undefined ? c.text.text : formatLogText(c.lines ?? [], timestamps, state);
      if (!first.done) await write(res, body(first.value));
      while (!abort.signal.aborted) {
        const next = await it.next();
        if (next.done) break;
        await write(res, body(next.value));
      }
      res.end();
    } catch (e) {
      const err = toErrorBody(e);
      if (err.kind === "internal") deps.onError?.(`log download: ${err.message}`);
      if (!headersSent && !res.headersSent) {
        sendJson(res, HTTP_STATUS_BY_KIND[err.kind], {
          error: { kind: err.kind, message: err.message },
        });
      } else if (kind === "stream") {
        res.end(`${JSON.stringify({ error: { kind: err.kind, message: err.message } })}\n`);
      } else {
        // Mid-stream: the body is cut short; say so at its end.
        res.end(`\n[berth: log download failed: ${err.message}]\n`);
      }
    }
  };
}
