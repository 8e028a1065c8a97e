/**
 * A small `fetch` on node:http with a keep-alive agent, for the tRPC links and EventSource.
 *
 * Why not the global fetch: loading undici costs ~20 ms of start-up in Node 20, and every
 * `berth` invocation pays it; node:http is already in the snapshot. All requests of one
 * invocation share the agent's sockets (one TCP handshake for `run`'s mutation and wait).
 * It implements what tRPC's links and the `eventsource` package use: method, headers, string
 * body, AbortSignal; status, headers.get, json(), text() and a web ReadableStream body.
 */
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

export interface HttpFetchInit {
  method?: string;
  headers?: Record<string, string> | Iterable<[string, string]>;
  body?: string | null;
  signal?: AbortSignal | null;
}

export interface HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly redirected: false;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  readonly body: ReadableStream<Uint8Array>;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export type HttpFetch = (url: string | URL, init?: HttpFetchInit) => Promise<HttpResponse>;

export interface HttpClient {
  fetch: HttpFetch;
  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === "AbortError") return reason;
  const err = new Error("the request was aborted");
  err.name = "AbortError";
  return err;
}

function toHeaderRecord(headers: HttpFetchInit["headers"]): Record<string, string> {
  if (!headers) return {};
  if (Symbol.iterator in headers) return Object.fromEntries(headers as Iterable<[string, string]>);
  return { ...headers };
}

export function createHttpClient(
  defaultHeaders: () => Record<string, string> = () => ({}),
): HttpClient {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 8 });

  const fetch: HttpFetch = (input, init = {}) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const url = typeof input === "string" ? new URL(input) : input;
      const signal = init.signal ?? null;
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const isHttps = url.protocol === "https:";
      const body = init.body ?? null;
      const headers: Record<string, string> = {
        ...defaultHeaders(),
        ...toHeaderRecord(init.headers),
      };
      if (body !== null) headers["content-length"] = String(Buffer.byteLength(body));
      const req = (isHttps ? https : http).request(url, {
        method: init.method ?? "GET",
        headers,
        agent: isHttps ? httpsAgent : httpAgent,
      });
      const onAbort = () => req.destroy(abortError(signal!));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.once("error", (e) => {
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      });
      req.once("response", (res) => {
        res.once("close", () => signal?.removeEventListener("abort", onAbort));
        const status = res.statusCode ?? 0;
        let consumed = false;
        const take = () => {
          if (consumed) throw new TypeError("the response body was already read");
          consumed = true;
        };
        const text = async () => {
          take();
          const chunks: Buffer[] = [];
          for await (const c of res) chunks.push(c as Buffer);
          return Buffer.concat(chunks).toString("utf8");
        };
        let stream: ReadableStream<Uint8Array> | null = null;
        resolve({
          ok: status >= 200 && status < 300,
          status,
          statusText: res.statusMessage ?? "",
          url: url.toString(),
          redirected: false,
          headers: {
            get(name) {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
            },
            has(name) {
              return res.headers[name.toLowerCase()] !== undefined;
            },
          },
          get body() {
            if (stream === null) {
              take();
              stream = Readable.toWeb(res) as ReadableStream<Uint8Array>;
            }
            return stream;
          },
          text,
          async json() {
            const t = await text();
            try {
              return JSON.parse(t) as unknown;
            } catch {
              const type = res.headers["content-type"] ?? "no content type";
              throw new Error(
                `${url.origin} answered ${status} with something other than JSON (${type}): is it a berth-server?`,
              );
            }
          },
        });
      });
      if (body !== null) req.end(body);
      else req.end();
    });

  return {
    fetch,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
