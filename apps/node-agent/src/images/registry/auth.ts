/**
 * Registry authentication: the `WWW-Authenticate` challenge (RFC 7235) a registry answers a
 * 401 with, and the distribution token flow for `Bearer` challenges (realm, service, scope).
 * Tokens are cached per (realm, service, scope) until shortly before they expire.
 */
import { z } from "zod";
import { DomainError } from "@berth/core";
import { hostPortOfUrl, sameServerHost } from "./node-credential";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header: `Bearer realm="https://x/token",service="reg",scope="a b"`,
 * `Basic realm="r"`. Several challenges may share one header, separated by commas.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = () => {
    while (i < n && (header[i] === " " || header[i] === "\t" || header[i] === ",")) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (i >= n) break;
    const word = token();
    if (word === "") {
      i++; // not a token character: skip it rather than loop forever
      continue;
    }
    let j = i;
    while (j < n && (header[j] === " " || header[j] === "\t")) j++;
    if (header[j] === "=" && current) {
      // key=value (or key="quoted value") of the current challenge
      i = j + 1;
      while (i < n && (header[i] === " " || header[i] === "\t")) i++;
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && header[i] !== "," && header[i] !== " ") i++;
        value = header.slice(start, i);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** What a token endpoint answers (distribution token spec; `access_token` is the OAuth2 name). */
const TokenResponseSchema = z
  .object({
    token: z.string().min(1).max(65_536).optional(),
    access_token: z.string().min(1).max(65_536).optional(),
    expires_in: z.number().int().positive().max(31_536_000).optional(),
    issued_at: z.string().optional(),
    refresh_token: z.string().max(65_536).optional(),
  })
  .refine((t) => t.token !== undefined || t.access_token !== undefined, {
    message: "the token response has neither token nor access_token",
  });

export interface RegistryCredential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (Docker's "identity token"), exchanged at the token endpoint. */
  identityToken?: string;
  /** Sent as the token request's `account` (a node credential: the team it pulls for). */
  account?: string;
  /**
   * The token endpoint must be on this `host:port` (loopback spellings alike), else the
   * credential is not sent: a node credential goes only to the agent's own server.
   */
  tokenHost?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** The distribution spec's minimum token lifetime when `expires_in` is absent. */
const DEFAULT_TOKEN_SECONDS = 60;

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (t.expiresAt <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return t.token;
  }

  set(key: string, token: string, expiresInSeconds: number): void {
    // Renew 10 s early (or at half-life for very short tokens) so a request never carries a
    // token that expires in flight.
    const margin = Math.min(10, expiresInSeconds / 2) * 1000;
    this.tokens.set(key, { token, expiresAt: this.now() + expiresInSeconds * 1000 - margin });
  }

  clear(key: string): void {
    this.tokens.delete(key);
  }
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/**
 * Fetches a Bearer token for `scopes` from the challenge's realm. Basic credentials go to the
 * token endpoint (GET with `service` and `scope` query parameters); an identity token is
 * exchanged with the OAuth2 refresh-token grant (POST). Anonymous when no credential.
 */
export async function fetchToken(
  challenge: Challenge,
  scopes: string[],
  credential: RegistryCredential | undefined,
  doFetch: (url: string, init: RequestInit) => Promise<Response>,
): Promise<{ token: string; expiresIn: number }> {
  const realm = challenge.params["realm"];
  if (!realm) throw new DomainError("unavailable", "the registry's Bearer challenge has no realm");
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new DomainError("unavailable", `the registry's token realm "${realm}" is not a URL`);
  }
  const service = challenge.params["service"];
  if (
    credential?.tokenHost !== undefined &&
    !sameServerHost(hostPortOfUrl(realm), credential.tokenHost)
  )
    throw new DomainError(
      "forbidden",
      `the registry's token realm ${url.origin} is not berth-server (${credential.tokenHost}): the node credential is not sent there`,
    );
  let res: Response;
  if (credential?.identityToken) {
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: credential.identityToken,
      client_id: "berth",
    });
    if (service) form.set("service", service);
    if (scopes.length) form.set("scope", scopes.join(" "));
    res = await doFetch(url.toString(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
  } else {
    if (service) url.searchParams.set("service", service);
    for (const s of scopes) url.searchParams.append("scope", s);
    if (credential?.account !== undefined) url.searchParams.set("account", credential.account);
    const headers: Record<string, string> = {};
    if (credential?.username !== undefined && credential.password !== undefined)
      headers["authorization"] = basicAuthorization(credential.username, credential.password);
    res = await doFetch(url.toString(), { method: "GET", headers });
  }
  const text = await res.text();
  if (res.status === 401 || res.status === 403)
    throw new DomainError(
      "unauthenticated",
      `the registry's token service (${url.origin}) refused the credentials: ${res.status} ${text.slice(0, 200)}`.trim(),
      { status: res.status },
    );
  if (!res.ok)
    throw new DomainError(
      "unavailable",
      `the registry's token service (${url.origin}) answered ${res.status}: ${text.slice(0, 200)}`,
      { status: res.status },
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DomainError("unavailable", `the registry's token service answered non-JSON`);
  }
  const parsed = TokenResponseSchema.safeParse(json);
  if (!parsed.success)
    throw new DomainError(
      "unavailable",
      `the registry's token response is malformed: ${parsed.error.issues[0]?.message ?? "?"}`,
    );
  return {
    token: (parsed.data.token ?? parsed.data.access_token)!,
    expiresIn: parsed.data.expires_in ?? DEFAULT_TOKEN_SECONDS,
  };
}
