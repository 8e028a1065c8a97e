/**
 * The tRPC context: who is calling (session cookie or API token), from where, and the services.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { CSRF_COOKIE, CSRF_HEADER, type DomainError, type SubjectMembership } from "@berth/core";
import type { Actor } from "./modules/containers/containers.service";
import {
  API_TOKEN_PREFIX,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  type AuthUser,
} from "./modules/auth/auth.service";
import type { TeamRef } from "./modules/teams/teams.service";
import { csrfProblem, csrfTokenFor } from "./security";
import type { Services } from "./services";

/** The request header naming the team a request acts in (id or name). */
export const TEAM_HEADER = "x-berth-team";
/** The dashboard's team switcher keeps the chosen team (id) here; the header wins over it. */
export const TEAM_COOKIE = "berth_team";

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
  /** The team the procedure's permission was checked in (set by procedureWith). */
  teamId?: string;
}

export interface Context {
  services: Services;
  user: AuthUser | null;
  /** The caller acting in a team; `role` is their role there ("none" when not a member). */
  actor: (Actor & { role: string }) | null;
  /** The caller's memberships (loaded once per request) and the team the request acts in. */
  access: { memberships: SubjectMembership[]; team: TeamRef } | null;
  /** Why the requested team (`x-berth-team`) cannot be used; thrown by signed-in procedures. */
  teamError: DomainError | null;
  sessionSecret: string | null;
  address: string | null;
  audit: AuditNote;
  /**
   * Why this cookie-authenticated unsafe request was refused as a possible CSRF (security.ts);
   * the user is then not signed in for it, and tRPC mutations fail with this message.
   */
  csrfError: string | null;
  setSessionCookie(secret: string): void;
  clearSessionCookie(): void;
}

export interface RequestInfo {
  cookie?: string | undefined;
  authorization?: string | undefined;
  /** The `x-berth-team` header: the team to act in (id or name). */
  team?: string | undefined;
  address?: string | null | undefined;
  /**
   * The HTTP method and headers, for the CSRF check of cookie-authenticated requests. Without
   * them (in-process callers) no check is made: every HTTP entry point passes them.
   */
  method?: string | undefined;
  headers?: IncomingHttpHeaders | undefined;
  /** Appends a Set-Cookie header to the response. */
  setCookie(value: string): void;
}

function header(headers: IncomingHttpHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return Array.isArray(v) ? v[0] : v;
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

/** The CSRF cookie: readable by the dashboard's script (it copies it into the header), Strict. */
function csrfCookie(value: string, secure: boolean, maxAge = Math.floor(SESSION_TTL_MS / 1000)) {
  return `${CSRF_COOKIE}=${value}; Path=/; SameSite=Strict${secure ? "; Secure" : ""}; Max-Age=${maxAge}`;
}

export function buildContext(deps: ContextDeps, req: RequestInfo): Context {
  const { services } = deps;
  const cookies = parseCookies(req.cookie);
  const sessionSecret = cookies.get(SESSION_COOKIE) ?? null;
  let user: AuthUser | null = null;
  let csrfError: string | null = null;
  const csrfRefused: AuditNote = {};
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization ?? "")?.[1];
  // API tokens (Bearer) are not sent by browsers on their own: no CSRF check for them.
  if (bearer?.startsWith(API_TOKEN_PREFIX))
    user = services.auth.userForApiToken(bearer, req.address ?? null);
  else if (sessionSecret) {
    user = services.auth.userForSession(sessionSecret);
    if (user && req.method) {
      csrfError = csrfProblem(
        {
          method: req.method,
          token: header(req.headers, CSRF_HEADER),
          origin: header(req.headers, "origin"),
          host: header(req.headers, "host"),
          forwardedHost: header(req.headers, "x-forwarded-host"),
          fetchSite: header(req.headers, "sec-fetch-site"),
        },
        sessionSecret,
      );
      if (csrfError) {
        csrfRefused.actor = { id: user.id, name: user.username };
        user = null;
      } else if (cookies.get(CSRF_COOKIE) !== csrfTokenFor(sessionSecret)) {
        // Sessions from before the CSRF cookie existed get it on their next request.
        req.setCookie(csrfCookie(csrfTokenFor(sessionSecret), deps.secureCookies));
      }
    }
  }
  // The team to act in: the x-berth-team header (CLI, scripts), strict; else the dashboard's
  // switcher cookie, lenient (a team one has left falls back to the default team).
  const teamHeaderValue = req.team?.trim() || null;
  const teamCookie = teamHeaderValue ? null : cookies.get(TEAM_COOKIE)?.trim() || null;
  let teams = user
    ? services.teams.callerTeams(user, teamHeaderValue ?? teamCookie, deps.defaultTeamId)
    : null;
  if (user && teams?.error && teamCookie)
    teams = services.teams.callerTeams(user, null, deps.defaultTeamId);
  const membership = teams?.memberships.find((m) => m.teamId === teams.team.id);
  const actor =
    user && teams
      ? {
          ...user,
          teamId: teams.team.id,
          role: membership?.role ?? (user.isAdmin ? "admin" : "none"),
        }
      : null;
  // SameSite=Lax, not Strict: Strict would sign people out whenever they follow a link into
  // the dashboard from another site. Lax already withholds the cookie from cross-site POSTs and
  // subresource requests, and the CSRF token check above covers what Lax does not (same-site
  // sibling hosts, older browsers).
  const attrs = `Path=/; HttpOnly; SameSite=Lax${deps.secureCookies ? "; Secure" : ""}`;
  return {
    services,
    user,
    actor,
    access: teams ? { memberships: teams.memberships, team: teams.team } : null,
    teamError: teams?.error ?? null,
    sessionSecret,
    address: req.address ?? null,
    audit: csrfRefused,
    csrfError,
    setSessionCookie: (secret) => {
      req.setCookie(
        `${SESSION_COOKIE}=${encodeURIComponent(secret)}; ${attrs}; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
      );
      req.setCookie(csrfCookie(csrfTokenFor(secret), deps.secureCookies));
    },
    clearSessionCookie: () => {
      req.setCookie(`${SESSION_COOKIE}=; ${attrs}; Max-Age=0`);
      req.setCookie(csrfCookie("", deps.secureCookies, 0));
    },
  };
}

/** The context factory for the node HTTP adapter. */
export function createContextFactory(deps: ContextDeps) {
  return ({ req, res }: { req: IncomingMessage; res: ServerResponse }): Context =>
    buildContext(deps, requestInfo(req, res));
}

/** What buildContext needs of a node HTTP request (the raw /api routes use it too). */
export function requestInfo(req: IncomingMessage, res: ServerResponse): RequestInfo {
  return {
    cookie: req.headers.cookie,
    authorization: req.headers.authorization,
    team: teamHeader(req),
    address: req.socket.remoteAddress ?? null,
    method: req.method,
    headers: req.headers,
    setCookie: (value) => res.appendHeader("Set-Cookie", value),
  };
}

/** The `x-berth-team` header of a request (first value), if any. */
export function teamHeader(req: IncomingMessage): string | undefined {
  const v = req.headers[TEAM_HEADER];
  return Array.isArray(v) ? v[0] : v;
}
