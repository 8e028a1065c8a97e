/**
 * tRPC setup: one root, stacked procedures (public → authed → permission / admin), the
 * middleware that maps domain errors to transport codes, and the audit middleware that records
 * every mutation — denied and failed attempts included.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { DomainError, isDomainError } from "@berth/core";
import { z, ZodError } from "zod";
import type { Context } from "./context";
import { kindOfTrpcCode, TRPC_CODE_BY_KIND } from "./errors";

/** Per-procedure settings read by the middlewares. */
export interface ProcedureMeta {
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

/** Writes one audit row per mutation: ok, denied (401/403) or error. */
const audit = t.middleware(async ({ ctx, next, type, path, getRawInput, meta }) => {
  if (type !== "mutation") return next();
  const result = await next();
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
  const denied =
    !result.ok && (result.error.code === "UNAUTHORIZED" || result.error.code === "FORBIDDEN");
  const actor = ctx.audit.actor ?? (ctx.user ? { id: ctx.user.id, name: ctx.user.username } : null);
  ctx.services.audit.record({
    actorId: actor?.id ?? null,
    actorName:
      actor?.name ??
      (typeof (rawInput as { username?: unknown })?.username === "string"
        ? (rawInput as { username: string }).username
        : null),
    teamId: ctx.actor?.teamId ?? null,
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
 * Everyone; every mutation is audited. The audit middleware sits outside the error mapping so
 * it sees the final transport code (UNAUTHORIZED / FORBIDDEN → "denied").
 */
export const publicProcedure = t.procedure.use(audit).use(errorMapping);

/** Signed in (session cookie or API token). */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user || !ctx.actor) throw new DomainError("unauthenticated", "sign in first");
  return next({ ctx: { user: ctx.user, actor: ctx.actor } });
});

/** Server administrators. */
export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!ctx.user.isAdmin) throw new DomainError("forbidden", "only administrators may do this");
  return next();
});

export type Permission =
  "containers.read" | "containers.write" | "nodes.read" | "images.read" | "images.write";

const ROLE_PERMISSIONS: Record<"owner" | "operator" | "viewer", ReadonlySet<Permission>> = {
  owner: new Set([
    "containers.read",
    "containers.write",
    "nodes.read",
    "images.read",
    "images.write",
  ]),
  operator: new Set([
    "containers.read",
    "containers.write",
    "nodes.read",
    "images.read",
    "images.write",
  ]),
  viewer: new Set(["containers.read", "nodes.read", "images.read"]),
};

/** Whether a signed-in caller may do `permission` (administrators may do everything). */
export function hasPermission(
  user: { isAdmin: boolean },
  actor: { role: "owner" | "operator" | "viewer" },
  permission: Permission,
): boolean {
  return user.isAdmin || ROLE_PERMISSIONS[actor.role].has(permission);
}

/** The one permission factory: a signed-in procedure that requires `permission` in the caller's team. */
export function procedureWith(permission: Permission) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!hasPermission(ctx.user, ctx.actor, permission)) {
      throw new DomainError(
        "forbidden",
        `your role (${ctx.actor.role}) does not allow ${permission}`,
      );
    }
    return next();
  });
}
