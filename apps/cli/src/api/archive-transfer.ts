/**
 * Image archives to and from berth-server's raw HTTP endpoints (`/api/images/save|load|import`,
 * and `build`'s context upload with its NDJSON progress,
 * docs/API.md): bytes stream through node:http with back-pressure both ways, never whole in
 * memory. Errors come back as the server's `{error: {kind, message}}`, shaped like tRPC errors
 * (`data.kind`) so toCliError words them the same way.
 */
import http from "node:http";
import https from "node:https";

export interface TransferTarget {
  server: string;
  token: string | null;
  userAgent: string;
  /** The team to act in (`x-berth-team`). */
  team?: string | undefined;
}

/** Something to write the archive into (a file stream or stdout). */
export interface ByteSink {
  write(chunk: Buffer): boolean;
  once?(event: "drain", listener: () => void): unknown;
}

export class TransferError extends Error {
  readonly data: { kind: string; httpStatus: number };
  constructor(message: string, kind: string, status: number) {
    super(message);
    this.data = { kind, httpStatus: status };
  }
}

function request(
  t: TransferTarget,
  method: "GET" | "POST",
  path: string,
  query: [string, string][],
  headers: Record<string, string> = {},
): http.ClientRequest {
  const url = new URL(path, t.server.endsWith("/") ? t.server : t.server + "/");
  for (const [k, v] of query) url.searchParams.append(k, v);
  const h: Record<string, string> = { "user-agent": t.userAgent, ...headers };
  if (t.token !== null) h.authorization = `Bearer ${t.token}`;
  if (t.team) h["x-berth-team"] = t.team;
  return (url.protocol === "https:" ? https : http).request(url, { method, headers: h });
}

function response(req: http.ClientRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function failure(res: http.IncomingMessage): Promise<TransferError> {
  const text = await readAll(res).catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { kind?: string; message?: string } };
    if (body.error?.message)
      return new TransferError(
        body.error.message,
        body.error.kind ?? "internal",
        res.statusCode ?? 0,
      );
  } catch {
    // not JSON
  }
  return new TransferError(
    `berth-server answered HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ""}`,
    "internal",
    res.statusCode ?? 0,
  );
}

/** `save`: streams the archive of `refs` into `sink`; resolves with the byte count. */
export async function downloadSave(
  t: TransferTarget,
  refs: string[],
  node: string | undefined,
  sink: ByteSink,
  onProgress?: (bytes: number) => void,
): Promise<number> {
  const query: [string, string][] = refs.map((r) => ["ref", r]);
  if (node !== undefined) query.push(["node", node]);
  const req = request(t, "GET", "api/images/save", query);
  req.end();
  const res = await response(req);
  if (res.statusCode !== 200) throw await failure(res);
  let bytes = 0;
  for await (const c of res) {
    const chunk = c as Buffer;
    bytes += chunk.length;
    if (!sink.write(chunk) && sink.once) await new Promise<void>((r) => sink.once!("drain", r));
    onProgress?.(bytes);
  }
  if (!res.complete)
    throw new TransferError("the archive stream was cut short by berth-server", "unavailable", 0);
  return bytes;
}

export interface LoadedImage {
  ref: string | null;
  digest: string;
}

/** `load` / `image import`: sends `source` as the request body; resolves with the answer. */
export async function uploadArchive(
  t: TransferTarget,
  path: "api/images/load" | "api/images/import",
  query: [string, string][],
  source: AsyncIterable<Buffer | string>,
  size: number | undefined,
  onProgress?: (bytes: number) => void,
): Promise<{ nodeName: string; loaded: LoadedImage[] }> {
  const res = await postBody(t, path, query, source, size, onProgress);
  return JSON.parse(await readAll(res)) as { nodeName: string; loaded: LoadedImage[] };
}

export interface BuiltImage {
  digest: string;
  tags: string[];
  steps: { line: number; text: string; cached: boolean; ms: number }[];
  warnings: string[];
  nodeName: string;
}

/**
 * `build`: sends the context tar; the answer is NDJSON (`{progress}` lines, then `{built}` or
 * `{error}`), passed to `onProgress` line by line as the build runs.
 */
export async function uploadBuild(
  t: TransferTarget,
  query: [string, string][],
  source: AsyncIterable<Buffer | string>,
  onProgress: (line: string) => void,
  onBytes?: (bytes: number) => void,
): Promise<BuiltImage> {
  const res = await postBody(t, "api/images/build", query, source, undefined, onBytes);
  let pending = "";
  let built: BuiltImage | undefined;
  let failed: TransferError | undefined;
  const take = (line: string) => {
    if (line.trim() === "") return;
    const o = JSON.parse(line) as {
      progress?: string;
      built?: BuiltImage;
      error?: { kind?: string; message?: string };
    };
    if (o.progress !== undefined) onProgress(o.progress);
    if (o.built !== undefined) built = o.built;
    if (o.error !== undefined)
      failed = new TransferError(
        o.error.message ?? "the build failed",
        o.error.kind ?? "internal",
        200,
      );
  };
  for await (const c of res) {
    pending += (c as Buffer).toString("utf8");
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      take(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  }
  take(pending);
  if (failed) throw failed;
  if (!built)
    throw new TransferError("berth-server ended the build without a result", "unavailable", 0);
  return built;
}

/** POSTs `source` as the body and resolves with a 200 response (else its error). */
async function postBody(
  t: TransferTarget,
  path: "api/images/load" | "api/images/import" | "api/images/build",
  query: [string, string][],
  source: AsyncIterable<Buffer | string>,
  size: number | undefined,
  onProgress?: (bytes: number) => void,
): Promise<http.IncomingMessage> {
  const headers: Record<string, string> = { "content-type": "application/x-tar" };
  if (size !== undefined) headers["content-length"] = String(size);
  const req = request(t, "POST", path, query, headers);
  const answered = response(req);
  answered.catch(() => undefined);
  let early: http.IncomingMessage | undefined;
  void answered.then(
    (r) => (early = r),
    () => undefined,
  );
  let bytes = 0;
  try {
    for await (const c of source) {
      if (early) break; // the server answered (refused) before reading everything
      const chunk = typeof c === "string" ? Buffer.from(c) : c;
      bytes += chunk.length;
      if (!req.write(chunk))
        await new Promise<void>((resolve) => {
          const done = () => {
            req.off("drain", done);
            req.off("close", done);
            resolve();
          };
          req.on("drain", done);
          req.on("close", done);
        });
      onProgress?.(bytes);
    }
    req.end();
  } catch (e) {
    req.destroy();
    throw e;
  }
  const res = await answered;
  if (res.statusCode !== 200) throw await failure(res);
  return res;
}
