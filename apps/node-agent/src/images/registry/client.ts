/**
 * An OCI distribution client (https://github.com/opencontainers/distribution-spec) on Node's
 * built-in fetch (undici). One `RegistryClient` talks to one registry host:
 * - scheme: HTTPS, except for loopback hosts (`localhost`, 127.0.0.0/8, ::1) and hosts the
 *   operator lists as insecure, which are spoken to over plain HTTP (as Docker does);
 * - auth: anonymous first; on a 401 the `WWW-Authenticate` challenge decides — `Basic` sends the
 *   stored username/password, `Bearer` fetches a token for the request's scopes from the realm
 *   (cached per scope until expiry); later requests authenticate up front;
 * - redirects (blob storage) are followed by hand, and the Authorization header is dropped when
 *   the redirect leaves the registry's origin;
 * - 5xx, 429 and connection errors are retried with exponential backoff (requests whose body
 *   can be re-sent only), errors are mapped to DomainError kinds with the registry's message.
 */
import { DomainError } from "@berth/core";
import {
  basicAuthorization,
  fetchToken,
  parseChallenges,
  TokenCache,
  type Challenge,
  type RegistryCredential,
} from "./auth";

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export interface RegistryClientOptions {
  /** `host[:port]` as references spell it; `docker.io` means Docker Hub. */
  registry: string;
  credential?: RegistryCredential | undefined;
  /** Hosts (`host` or `host:port`) that may be spoken to over plain HTTP. */
  insecureRegistries?: readonly string[];
  /** Total attempts for a retryable request (default 4). */
  attempts?: number;
  /** First backoff delay in ms, doubled each retry (default 200). */
  retryBaseMs?: number;
  tokenCache?: TokenCache;
  fetch?: FetchFn;
  /** Per-request timeout for headers (ms, default 60 s). Bodies are streamed without one. */
  timeoutMs?: number;
}

export interface RequestOptions {
  method?: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** Auth scopes, e.g. `repository:team/app:pull`. */
  scopes: string[];
  headers?: Record<string, string>;
  /** Only re-sendable bodies: requests with one are retried like the others. */
  body?: Buffer | string | undefined;
  /** Statuses returned to the caller instead of becoming errors (default: 2xx). */
  accept?: number[];
  /** What the request is about, for error messages ("manifest team/app:v1"). */
  what: string;
  signal?: AbortSignal | undefined;
}

const MAX_REDIRECTS = 10;

export function isLoopbackHost(hostPort: string): boolean {
  const host = hostOf(hostPort).toLowerCase();
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === "[::1]" ||
    host === "::1"
  );
}

function hostOf(hostPort: string): string {
  if (hostPort.startsWith("[")) return hostPort.slice(0, hostPort.indexOf("]") + 1);
  const c = hostPort.lastIndexOf(":");
  return c >= 0 ? hostPort.slice(0, c) : hostPort;
}

/** Whether `hostPort` may use plain HTTP: loopback, or listed (by host or host:port). */
export function allowsPlainHttp(hostPort: string, insecure: readonly string[] = []): boolean {
  const h = hostPort.toLowerCase();
  return (
    isLoopbackHost(h) ||
    insecure.some((i) => i.toLowerCase() === h || i.toLowerCase() === hostOf(h))
  );
}

/** The API endpoint of a registry host: Docker Hub's API lives at registry-1.docker.io. */
export function registryBaseUrl(registry: string, insecure: readonly string[] = []): string {
  const host = registry === "docker.io" ? "registry-1.docker.io" : registry;
  return `${allowsPlainHttp(host, insecure) ? "http" : "https"}://${host}`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** The distribution spec's error body: `{"errors":[{"code":"MANIFEST_UNKNOWN","message":…}]}`. */
export async function registryErrorText(res: Response): Promise<{ codes: string[]; text: string }> {
  let raw = "";
  try {
    raw = (await res.text()).slice(0, 4096);
  } catch {
    /* body unreadable: status alone */
  }
  try {
    const j = JSON.parse(raw) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(j.errors) && j.errors.length) {
      const codes = j.errors.map((e) => String(e.code ?? ""));
      const text = j.errors
        .map((e) => `${String(e.code ?? "")}: ${String(e.message ?? "")}`)
        .join("; ");
      return { codes, text };
    }
  } catch {
    /* not JSON */
  }
  return { codes: [], text: raw.trim().slice(0, 300) };
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

function networkErrorText(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly credential: RegistryCredential | undefined;
  private readonly insecure: readonly string[];
  private readonly attempts: number;
  private readonly retryBaseMs: number;
  private readonly tokens: TokenCache;
  private readonly doFetch: FetchFn;
  private readonly timeoutMs: number;
  /** The registry's last challenge: later requests authenticate without a 401 first. */
  private challenge: Challenge | undefined;
  /** Requests made, by method (for tests and diagnostics). */
  readonly stats = { requests: 0, retries: 0, tokenFetches: 0 };

  constructor(opts: RegistryClientOptions) {
    this.registry = opts.registry;
    this.insecure = opts.insecureRegistries ?? [];
    this.baseUrl = registryBaseUrl(opts.registry, this.insecure);
    this.origin = new URL(this.baseUrl).origin;
    this.credential = opts.credential;
    this.attempts = Math.max(1, opts.attempts ?? 4);
    this.retryBaseMs = opts.retryBaseMs ?? 200;
    this.tokens = opts.tokenCache ?? new TokenCache();
    this.doFetch = opts.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** `/v2/<name>/...` or an absolute URL (upload locations) → absolute URL. */
  url(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.baseUrl).toString();
  }

  /** Checks that the endpoint speaks the distribution API (`GET /v2/`), authenticating. */
  async ping(signal?: AbortSignal): Promise<void> {
    const res = await this.request("/v2/", { scopes: [], what: "registry API", signal });
    await res.body?.cancel();
  }

  /**
   * Sends a request with authentication, redirects and retries. Returns the response for
   * 2xx (and `accept`ed) statuses; throws a DomainError for the rest.
   */
  async request(pathOrUrl: string, opts: RequestOptions): Promise<Response> {
    let authRetried = false;
    for (;;) {
      const res = await this.sendWithRetries(pathOrUrl, opts);
      if (res.status === 401 && !authRetried) {
        const header = res.headers.get("www-authenticate") ?? "";
        await res.body?.cancel();
        const challenges = parseChallenges(header);
        const ch =
          challenges.find((c) => c.scheme === "bearer") ??
          challenges.find((c) => c.scheme === "basic");
        if (!ch)
          throw new DomainError(
            "unauthenticated",
            `${this.registry}: ${opts.what}: 401 without a usable WWW-Authenticate challenge`,
          );
        this.challenge = ch;
        if (ch.scheme === "bearer") this.tokens.clear(this.tokenKey(ch, opts.scopes));
        authRetried = true;
        continue;
      }
      if (res.status === 401) {
        const { text } = await registryErrorText(res);
        const who = this.credential?.username
          ? `the credentials of "${this.credential.username}" were refused`
          : this.credential?.identityToken
            ? "the identity token was refused"
            : "authentication is required (log in first)";
        throw new DomainError(
          "unauthenticated",
          `${this.registry}: ${opts.what}: ${who} (401${text ? `: ${text}` : ""})`,
          { status: 401, registry: this.registry },
        );
      }
      if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)) return res;
      throw await this.errorFor(res, opts.what);
    }
  }

  private async errorFor(res: Response, what: string): Promise<DomainError> {
    const { codes, text } = await registryErrorText(res);
    const msg = `${this.registry}: ${what}: ${res.status}${text ? ` ${text}` : ""}`;
    const details = { status: res.status, registry: this.registry, codes };
    if (
      res.status === 404 ||
      codes.some((c) => c === "MANIFEST_UNKNOWN" || c === "NAME_UNKNOWN" || c === "BLOB_UNKNOWN")
    )
      return new DomainError("not_found", msg, details);
    if (res.status === 403 || codes.includes("DENIED"))
      return new DomainError("forbidden", msg, details);
    if (res.status === 400 || res.status === 413 || res.status === 416)
      return new DomainError("invalid_input", msg, details);
    return new DomainError("unavailable", msg, details);
  }

  private tokenKey(ch: Challenge, scopes: string[]): string {
    return `${ch.params["realm"] ?? ""}|${ch.params["service"] ?? ""}|${[...scopes].sort().join(" ")}`;
  }

  private async authorization(opts: RequestOptions): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === "basic") {
      if (this.credential?.username === undefined || this.credential.password === undefined)
        throw new DomainError(
          "unauthenticated",
          `${this.registry} requires a username and password (log in first)`,
          { registry: this.registry },
        );
      return basicAuthorization(this.credential.username, this.credential.password);
    }
    const scopes = opts.scopes;
    const key = this.tokenKey(ch, scopes);
    const cached = this.tokens.get(key);
    if (cached) return `Bearer ${cached}`;
    const realm = ch.params["realm"] ?? "";
    if (
      URL.canParse(realm) &&
      new URL(realm).protocol === "http:" &&
      !allowsPlainHttp(new URL(realm).host, this.insecure)
    )
      throw new DomainError(
        "forbidden",
        `${this.registry}: refusing to fetch a token over plain HTTP from ${realm}`,
      );
    this.stats.tokenFetches++;
    const { token, expiresIn } = await fetchToken(ch, scopes, this.credential, (url, init) =>
      this.fetchWithTimeout(url, { ...init, redirect: "follow" }, opts.signal),
    );
    this.tokens.set(key, token, expiresIn);
    return `Bearer ${token}`;
  }

  /** fetch with a timeout on the response headers only (a large body may take longer). */
  private async fetchWithTimeout(
    url: string,
    init: RequestInit,
    signal?: AbortSignal,
  ): Promise<Response> {
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error("timeout"));
    }, this.timeoutMs);
    const onAbort = () => ac.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.doFetch(url, { ...init, signal: ac.signal });
    } catch (e) {
      if (timedOut)
        throw new DomainError("timeout", `${url}: no answer within ${this.timeoutMs} ms`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private async sendWithRetries(pathOrUrl: string, opts: RequestOptions): Promise<Response> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        const delay = this.retryBaseMs * 2 ** (attempt - 1);
        await sleep(delay + Math.random() * delay * 0.25, opts.signal);
      }
      let res: Response;
      try {
        res = await this.sendFollowingRedirects(pathOrUrl, opts);
      } catch (e) {
        if (e instanceof DomainError && e.kind !== "timeout") throw e;
        if (opts.signal?.aborted) throw e;
        lastError = e;
        continue; // connection reset / refused / timeout: retry
      }
      if (isRetryableStatus(res.status) && attempt + 1 < this.attempts) {
        await res.body?.cancel();
        lastError = undefined;
        continue;
      }
      return res;
    }
    if (lastError instanceof DomainError) throw lastError;
    throw new DomainError(
      "unavailable",
      `${this.registry}: ${opts.what}: cannot reach ${this.baseUrl} after ${this.attempts} attempts (${networkErrorText(lastError)})`,
      { registry: this.registry },
    );
  }

  private async sendFollowingRedirects(pathOrUrl: string, opts: RequestOptions): Promise<Response> {
    let url = this.url(pathOrUrl);
    let method = opts.method ?? "GET";
    let body = opts.body;
    const auth = await this.authorization(opts);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const target = new URL(url);
      const sameOrigin = target.origin === this.origin;
      if (
        target.protocol === "http:" &&
        !sameOrigin &&
        !allowsPlainHttp(target.host, this.insecure)
      )
        throw new DomainError(
          "forbidden",
          `${this.registry}: ${opts.what}: refusing a redirect to plain HTTP ${target.origin}`,
        );
      const headers: Record<string, string> = { ...opts.headers };
      // Credentials stay with the registry: a redirect to blob storage elsewhere gets none.
      if (auth && sameOrigin) headers["authorization"] = auth;
      this.stats.requests++;
      const res = await this.fetchWithTimeout(
        url,
        { method, headers, body: body ?? null, redirect: "manual" },
        opts.signal,
      );
      if ([301, 302, 303, 307, 308].includes(res.status)) {
        const location = res.headers.get("location");
        await res.body?.cancel();
        if (!location)
          throw new DomainError("unavailable", `${opts.what}: redirect without a Location`);
        url = new URL(location, url).toString();
        if (
          res.status === 303 ||
          ((res.status === 301 || res.status === 302) && method === "POST")
        ) {
          method = "GET";
          body = undefined;
        }
        continue;
      }
      return res;
    }
    throw new DomainError("unavailable", `${opts.what}: more than ${MAX_REDIRECTS} redirects`);
  }
}

/** `repository:<name>:<actions>` */
export function repositoryScope(name: string, actions: string): string {
  return `repository:${name}:${actions}`;
}
