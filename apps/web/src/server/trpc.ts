/**
 * tRPC setup: one root, stacked procedures (public → authed → permission / admin), the
 * middleware that maps domain errors to transport codes, and the audit middleware that records
 * every mutation — denied and failed attempts included.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import {
  can,
  describeDenial,
  DomainError,
  isDomainError,
  isPermission,
  PermissionSchema,
  PERMISSIONS,
  type Permission,
  type Subject,
} from "@berth/core";
import { z, ZodError } from "zod";
import type { Context } from "./context";
import type { TeamRef } from "./modules/teams/teams.service";
import { kindOfTrpcCode, TRPC_CODE_BY_KIND } from "./errors";

/**
 * Who may call a procedure; set by the procedure builders below (never by hand) and read by the
 * permission matrix test, which fails for a procedure that declares none.
 */
export type ProcedureAccess =
  | { kind: "public" }
  | { kind: "authenticated" }
  | { kind: "admin" }
  | {
      kind: "permission";
      permission: Permission;
      /**
       * Where the team the permission is checked in comes from: the team the request acts in
       * (`x-berth-team`, default), the input's `team` field (id or name; falls back to the
       * acting team when absent), or "resource": any team of the caller's here, and the
       * service checks the resource's own team with `can()` (registry repositories, whose team
       * is their name's namespace).
       */
      team: "acting" | "input" | "resource";
    };

/** Per-procedure settings read by the middlewares. */
export interface ProcedureMeta {
  access?: ProcedureAccess;
  audit?: {
    /**
     * Write no row when the call succeeds (failures and denials are still recorded). Only for
     * high-frequency calls whose start is audited elsewhere: `containers.execInput` (keystrokes
     * of an exec session that `containers.exec` audited when it started).
     */
    quietWhenOk?: boolean;
    /** Top-level input keys left out of the row (e.g. typed stdin data). */
    omit?: readonly string[];
  };
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Subscriptions (containers.logs) over server-sent events; pings keep idle streams alive
    // through proxies, and the client reconnects if they stop.
    sse: {
      enabled: true,
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 45_000 },
    },
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      const kind = isDomainError(cause) ? cause.kind : kindOfTrpcCode(error.code);
      const zodError = cause instanceof ZodError ? z.flattenError(cause) : null;
      // Stack traces never leave the server, whatever NODE_ENV says.
      const { stack: _stack, ...data } = shape.data;
      return { ...shape, data: { ...data, kind, zodError } };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** DomainError → TRPCError with the mapped code; zod failures get a readable message. */
const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const { error } = result;
  const cause = error.cause;
  if (isDomainError(cause)) {
    throw new TRPCError({ code: TRPC_CODE_BY_KIND[cause.kind], message: cause.message, cause });
  }
  if (cause instanceof ZodError) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `invalid input: ${z.prettifyError(cause)}`,
      cause,
    });
  }
  return result;
});

function describeTarget(input: unknown): string | null {
  if (input && typeof input === "object") {
    const o = input as Record<string, unknown>;
    for (const k of ["ref", "name", "node", "username"]) if (typeof o[k] === "string") return o[k];
  }
  return null;
}

/**
 * Denied reads are audited once per caller, procedure and minute: a page polling a list its
 * caller may not see would otherwise write a row every few seconds.
 */
const DENIED_READ_WINDOW_MS = 60_000;
const lastDeniedRead = new Map<string, number>();
function firstDeniedReadInWindow(key: string, now: number): boolean {
  const last = lastDeniedRead.get(key);
  if (last !== undefined && now - last < DENIED_READ_WINDOW_MS) return false;
  if (lastDeniedRead.size >= 10_000)
    for (const [k, at] of lastDeniedRead)
      if (now - at >= DENIED_READ_WINDOW_MS) lastDeniedRead.delete(k);
  lastDeniedRead.set(key, now);
  return true;
}

/**
 * Writes one audit row per mutation (ok, denied (401/403) or error) and one per denied query or
 * subscription (at most one a minute per caller and procedure).
 */
const audit = t.middleware(async ({ ctx, next, type, path, getRawInput, meta }) => {
  const result = await next();
  const denied =
    !result.ok && (result.error.code === "UNAUTHORIZED" || result.error.code === "FORBIDDEN");
  if (type !== "mutation" && !denied) return result;
  if (
    type !== "mutation" &&
    !firstDeniedReadInWindow(
      `${ctx.user?.id ?? ctx.address ?? ""}\n${ctx.access?.team.id ?? ""}\n${path}`,
      Date.now(),
    )
  )
    return result;
  if (result.ok && meta?.audit?.quietWhenOk) return result;
  let rawInput: unknown;
  try {
    rawInput = await getRawInput();
  } catch {
    rawInput = undefined;
  }
  const omit = meta?.audit?.omit;
  if (omit && rawInput && typeof rawInput === "object")
    rawInput = Object.fromEntries(
      Object.entries(rawInput as Record<string, unknown>).filter(([k]) => !omit.includes(k)),
    );
  const actor = ctx.audit.actor ?? (ctx.user ? { id: ctx.user.id, name: ctx.user.username } : null);
  ctx.services.audit.record({
    actorId: actor?.id ?? null,
    actorName:
      actor?.name ??
      (typeof (rawInput as { username?: unknown })?.username === "string"
        ? (rawInput as { username: string }).username
        : null),
    // The team the permission was checked in (input or resource team), else the acting one.
    teamId: ctx.audit.teamId ?? ctx.actor?.teamId ?? null,
    action: path,
    target: ctx.audit.target ?? describeTarget(rawInput),
    params: rawInput ?? null,
    result: result.ok ? "ok" : denied ? "denied" : "error",
    error: result.ok ? null : result.error.message,
    address: ctx.address,
  });
  return result;
});

/**
 * Cookie-authenticated mutations without the session's CSRF token (context.ts, security.ts) are
 * refused here, after the audit middleware, so the refusal is recorded.
 */
const csrfGuard = t.middleware(({ ctx, type, next }) => {
  if (type === "mutation" && ctx.csrfError) throw new DomainError("forbidden", ctx.csrfError);
  return next();
});

/**
 * Everyone; every mutation is audited. The audit middleware sits outside the error mapping so
 * it sees the final transport code (UNAUTHORIZED / FORBIDDEN → "denied").
 */
export const publicProcedure = t.procedure
  .meta({ access: { kind: "public" } })
  .use(audit)
  .use(errorMapping)
  .use(csrfGuard);

/**
 * Signed in (session cookie or API token), acting in a team they may use (a bad
 * `x-berth-team` is NOT_FOUND here).
 */
export const authedProcedure = publicProcedure
  .meta({ access: { kind: "authenticated" } })
  .use(({ ctx, next }) => {
    if (!ctx.user || !ctx.actor || !ctx.access)
      throw new DomainError("unauthenticated", "sign in first");
    if (ctx.teamError) throw ctx.teamError;
    return next({ ctx: { user: ctx.user, actor: ctx.actor, access: ctx.access } });
  });

/**
 * Managing one's own account (sign out everywhere, API tokens): a session or an unscoped API
 * token; a scoped token may not manage the account it belongs to.
 */
export const accountProcedure = authedProcedure.use(({ ctx, next }) => {
  if (tokenScopesOf(ctx.user))
    throw new DomainError(
      "forbidden",
      "managing your account needs a session or an unscoped API token (this token is scoped)",
    );
  return next();
});

/** Server administrators (within their API token's scopes, if any). */
export const adminProcedure = authedProcedure
  .meta({ access: { kind: "admin" } })
  .use(({ ctx, next }) => {
    if (!ctx.user.isAdmin) throw new DomainError("forbidden", "only administrators may do this");
    if (tokenScopesOf(ctx.user))
      throw new DomainError("forbidden", "administration needs an unscoped API token");
    return next();
  });

/** An API token's scopes (known permission names), or null for a session or unscoped token. */
function tokenScopesOf(user: object): Permission[] | null {
  const scopes = (user as { tokenScopes?: readonly string[] | null }).tokenScopes;
  return scopes ? scopes.filter(isPermission) : null;
}

/** The subject `can()` decides for: the caller's memberships and token scopes. */
export function subjectOf(ctx: Pick<Context, "user" | "access">): Subject {
  if (!ctx.user || !ctx.access) return { isAdmin: false, memberships: [] };
  return {
    isAdmin: ctx.user.isAdmin,
    memberships: ctx.access.memberships,
    tokenScopes: tokenScopesOf(ctx.user),
  };
}

/** The permissions the caller holds in the team the request acts in (for `auth.me`). */
export function permissionsInActingTeam(ctx: Pick<Context, "user" | "access">): Permission[] {
  if (!ctx.access) return [];
  const subject = subjectOf(ctx);
  const teamId = ctx.access.team.id;
  return PERMISSIONS.filter((p) => can(subject, p, { teamId }).allowed);
}

/** Whether a signed-in caller may do `permission` in the team they act in. */
export function hasPermission(
  ctx: Pick<Context, "user" | "access">,
  permission: Permission,
): boolean {
  if (!ctx.access) return false;
  return can(subjectOf(ctx), permission, { teamId: ctx.access.team.id }).allowed;
}

type SignedIn<C> = C & {
  user: NonNullable<Context["user"]>;
  actor: NonNullable<Context["actor"]>;
  access: NonNullable<Context["access"]>;
};

/**
 * The check behind `procedureWith`, for the raw HTTP endpoints: throws `unauthenticated`,
 * `not_found` (a bad `x-berth-team`) or `forbidden` (a DomainError) unless the caller may do
 * `permission` in the team they act in.
 */
export function requirePermission<
  C extends Pick<Context, "user" | "actor" | "access" | "teamError">,
>(ctx: C, permission: Permission, team?: TeamRef): asserts ctx is SignedIn<C> {
  if (!ctx.user || !ctx.actor || !ctx.access)
    throw new DomainError("unauthenticated", "sign in first");
  if (ctx.teamError && !team) throw ctx.teamError;
  const decision = can(subjectOf(ctx), permission, { teamId: (team ?? ctx.access.team).id });
  if (!decision.allowed) throw new DomainError("forbidden", describeDenial(decision, permission));
}

/**
 * The team named by an input's `team` (id or name) as the caller may see it: one of their
 * memberships, or any team for administrators; otherwise NOT_FOUND (existence is not leaked).
 */
function teamFromInput(ctx: SignedIn<Context>, raw: unknown): TeamRef {
  const ref = raw && typeof raw === "object" ? (raw as { team?: unknown }).team : undefined;
  if (ref === undefined || ref === null || ref === "") return ctx.access.team;
  if (typeof ref !== "string") throw new DomainError("invalid_input", "team: expected a string");
  const mine = ctx.access.memberships.find((m) => m.teamId === ref || m.teamName === ref);
  if (mine) return { id: mine.teamId, name: mine.teamName ?? "" };
  const any = ctx.user.isAdmin ? ctx.services.teams.find(ref) : null;
  if (any) return any;
  throw new DomainError(
    "not_found",
    `no team ${JSON.stringify(ref)} (or you are not a member of it)`,
  );
}

/**
 * The one permission factory: a signed-in procedure that requires `permission` in a team —
 * the team the request acts in, (`{ team: "input" }`) the one its input's `team` names, or
 * (`{ team: "resource" }`) any of the caller's, the service checking the resource's team.
 * Administrators may do everything their token allows. The checked team is `ctx.team`.
 */
export function procedureWith(
  permission: Permission,
  opts: { team?: "acting" | "input" | "resource" } = {},
) {
  const required = PermissionSchema.parse(permission);
  const scope = opts.team ?? "acting";
  return authedProcedure
    .meta({ access: { kind: "permission", permission: required, team: scope } })
    .use(async ({ ctx, next, getRawInput }) => {
      const team = scope === "input" ? teamFromInput(ctx, await getRawInput()) : ctx.access.team;
      if (scope === "resource") {
        const decision = can(subjectOf(ctx), required);
        if (!decision.allowed)
          throw new DomainError("forbidden", describeDenial(decision, required));
      } else {
        // Audited in the team the permission is checked in (a denial too: the caller is its member).
        ctx.audit.teamId = team.id;
        requirePermission(ctx, required, team);
      }
      ctx.audit.teamId = team.id;
      return next({ ctx: { team } });
    });
}
