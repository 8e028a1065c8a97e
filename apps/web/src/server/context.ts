/**
 * The tRPC context: who is calling (session cookie or API token), from where, and the services.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Actor } from "./modules/containers/containers.service";
import {
  API_TOKEN_PREFIX,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  type AuthUser,
} from "./modules/auth/auth.service";
import type { Services } from "./services";

export interface ContextDeps {
  services: Services;
  /** The team users without a membership act in. */
  defaultTeamId: string;
  secureCookies: boolean;
}

/** What a procedure may add to its audit row. */
export interface AuditNote {
  target?: string;
  actor?: { id: string; name: string };
}

export interface Context {
  services: Services;
  user: AuthUser | null;
  actor: (Actor & { role: "owner" | "operator" | "viewer" }) | null;
  sessionSecret: string | null;
  address: string | null;
  audit: AuditNote;
  setSessionCookie(secret: string): void;
  clearSessionCookie(): void;
}

export interface RequestInfo {
  cookie?: string | undefined;
  authorization?: string | undefined;
  address?: string | null | undefined;
  /** Appends a Set-Cookie header to the response. */
  setCookie(value: string): void;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    try {
      out.set(k, decodeURIComponent(v));
    } catch {
      out.set(k, v);
    }
  }
  return out;
}

export function buildContext(deps: ContextDeps, req: RequestInfo): Context {
  const { services } = deps;
  const sessionSecret = parseCookies(req.cookie).get(SESSION_COOKIE) ?? null;
  let user: AuthUser | null = null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization ?? "")?.[1];
  if (bearer?.startsWith(API_TOKEN_PREFIX)) user = services.auth.userForApiToken(bearer);
  else if (sessionSecret) user = services.auth.userForSession(sessionSecret);
  const membership = user ? services.auth.teamOf(user.id) : null;
  const actor = user
    ? {
        ...user,
        teamId: membership?.teamId ?? deps.defaultTeamId,
        role: membership?.role ?? ("viewer" as const),
      }
    : null;
  const attrs = `Path=/; HttpOnly; SameSite=Lax${deps.secureCookies ? "; Secure" : ""}`;
  return {
    services,
    user,
    actor,
    sessionSecret,
    address: req.address ?? null,
    audit: {},
    setSessionCookie: (secret) =>
      req.setCookie(
        `${SESSION_COOKIE}=${encodeURIComponent(secret)}; ${attrs}; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
      ),
    clearSessionCookie: () => req.setCookie(`${SESSION_COOKIE}=; ${attrs}; Max-Age=0`),
  };
}

/** The context factory for the node HTTP adapter. */
export function createContextFactory(deps: ContextDeps) {
  return ({ req, res }: { req: IncomingMessage; res: ServerResponse }): Context =>
    buildContext(deps, {
      cookie: req.headers.cookie,
      authorization: req.headers.authorization,
      address: req.socket.remoteAddress ?? null,
      setCookie: (value) => res.appendHeader("Set-Cookie", value),
    });
}
