/**
 * The permission matrix, generated from the router itself: every procedure of `appRouter` ×
 * every kind of caller (owner, operator, viewer, billing-viewer, a custom role, a member of
 * another team, a user without any team, an administrator), in their team and with ids from
 * another team. Only the allowed calls get past the permission check; denials are FORBIDDEN (or
 * UNAUTHORIZED / NOT_FOUND for a team the caller is not in) and land in the audit trail.
 *
 * A procedure that does not declare its access (built without procedureWith / adminProcedure),
 * or a public / signed-in-only procedure not listed below, fails this test.
 */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILTIN_ROLE_PERMISSIONS, isDomainError, PERMISSIONS, type Permission } from "@berth/core";
import { and, auditEvents, eq, imageClaims, teamMembers } from "@berth/db";
import { TRPC_CODE_BY_KIND } from "./errors";
import { appRouter, createCaller } from "./root";
import {
  addUser,
  contextFor,
  createFixture,
  insertContainer,
  insertNode,
  type Fixture,
} from "./testing/fixtures";
import type { ProtocolPeer } from "./testing/protocol-peer";
import { startPeerServer, type PeerServer } from "./testing/test-server";
import type { ProcedureAccess } from "./trpc";

/** Anyone may call these (signing in, and asking who you are). */
const PUBLIC = new Set(["auth.me", "auth.login", "auth.cliLogin"]);
/**
 * Any signed-in caller may call these: about themselves, not about a team's resources (an
 * explicit list: a new procedure needs a permission or an entry here with a reason).
 */
const SIGNED_IN_ONLY = new Set([
  "auth.logout", // ends one's own session
  "auth.logoutEverywhere", // one's own sessions (and tokens)
  "auth.changePassword", // one's own password
  "auth.tokens.list", // one's own API tokens…
  "auth.tokens.create", // …within one's own scopes
  "auth.tokens.revoke",
  "teams.list", // the teams one is in (the team switcher)
  "access.mine", // one's own effective access
]);

const CUSTOM_PERMISSIONS: Permission[] = [
  "container.read",
  "container.create",
  "container.update",
  "logs.read",
  "image.push",
  "usage.read",
  "node.drain",
];

type CallerKind =
  "owner" | "operator" | "viewer" | "billing-viewer" | "custom" | "outsider" | "teamless" | "admin";
const KINDS: CallerKind[] = [
  "owner",
  "operator",
  "viewer",
  "billing-viewer",
  "custom",
  "outsider",
  "teamless",
  "admin",
];

/**
 * What each caller holds in team A (the team the resources below belong to), written from the
 * role definitions rather than computed by the code under test.
 */
function heldInTeamA(kind: CallerKind): ReadonlySet<Permission> {
  const all = PERMISSIONS.filter((p) => p !== "node.manage");
  switch (kind) {
    case "owner":
      return new Set(all);
    case "operator":
      return new Set(
        all.filter((p) => !["team.manage", "registry.delete", "budget.manage"].includes(p)),
      );
    case "viewer":
      return new Set(PERMISSIONS.filter((p) => p.endsWith(".read") || p === "registry.pull"));
    case "billing-viewer":
      return new Set(["team.read", "usage.read"]);
    case "custom":
      return new Set(CUSTOM_PERMISSIONS);
    case "admin":
      return new Set(PERMISSIONS);
    case "outsider":
    case "teamless":
      return new Set();
  }
}

/**
 * Minimal inputs naming team A's resources (container `web-a`, node `node-a`, repository
 * `alpha/app`). Procedures not listed are called with `{}`: the permission check runs before
 * input validation, so they are still checked.
 */
const INPUTS: Record<string, unknown> = {
  "auth.logoutEverywhere": { tokens: false },
  "containers.get": { ref: "web-a" },
  "containers.start": { ref: "web-a" },
  "containers.stop": { ref: "web-a", timeoutSeconds: 0 },
  "containers.kill": { ref: "web-a" },
  "containers.restart": { ref: "web-a", timeoutSeconds: 0 },
  "containers.pause": { ref: "web-a" },
  "containers.unpause": { ref: "web-a" },
  "containers.rename": { ref: "web-a", name: "web-renamed" },
  "containers.update": { ref: "web-a", limits: { pidsLimit: 100 } },
  "containers.remove": { ref: "web-a", force: false },
  "containers.stats": { ref: "web-a" },
  "containers.statsHistory": { ref: "web-a" },
  "containers.commit": { ref: "web-a" },
  "containers.wait": { ref: "web-a" },
  "containers.logs": { ref: "web-a" },
  "containers.exec": { ref: "web-a", argv: ["true"] },
  "containers.statsStream": { refs: ["web-a"] },
  "networks.containers": { ref: "web-a" },
  "networks.connect": { ref: "bridge", container: "web-a" },
  "networks.disconnect": { ref: "bridge", container: "web-a" },
  "teams.members": { team: "alpha" },
  "teams.roles": { team: "alpha" },
  "teams.addMember": { team: "alpha", user: "scratch", role: "viewer" },
  "teams.setRole": { team: "alpha", user: "scratch", role: "viewer" },
  "teams.removeMember": { team: "alpha", user: "scratch" },
  "teams.createRole": { team: "alpha", name: "matrix-role", permissions: ["logs.read"] },
  "teams.removeRole": { team: "alpha", role: "no-such-role" },
  "teams.remove": { team: "scratch-team" },
  "registry.tags": { repository: "alpha/app" },
  "registry.setPublic": { repository: "alpha/app", public: true },
  "registry.deleteTag": { repository: "alpha/app", tag: "v1" },
  "registry.deleteManifest": { repository: "alpha/app", digest: `sha256:${"0".repeat(64)}` },
  "users.disable": { user: "scratch" },
  "users.enable": { user: "scratch" },
  "access.effective": { user: "scratch" },
};

/** Inputs that name a resource of team A: from team B they must look like nothing (NOT_FOUND). */
const CROSS_TEAM = new Set([
  "containers.get",
  "containers.start",
  "containers.stop",
  "containers.kill",
  "containers.restart",
  "containers.pause",
  "containers.unpause",
  "containers.rename",
  "containers.update",
  "containers.remove",
  "containers.stats",
  "containers.statsHistory",
  "containers.commit",
  "containers.wait",
  "containers.logs",
  "containers.exec",
  "teams.members",
  "teams.roles",
  "teams.addMember",
  "teams.setRole",
  "teams.removeMember",
  "teams.createRole",
  "teams.removeRole",
]);

interface ProcedureInfo {
  path: string;
  type: "query" | "mutation" | "subscription";
  access: ProcedureAccess | undefined;
}

const procedures: ProcedureInfo[] = Object.entries(
  appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: string; meta?: unknown } }
  >,
).map(([path, p]) => ({
  path,
  type: p._def.type as ProcedureInfo["type"],
  access: (p._def.meta as { access?: ProcedureAccess } | undefined)?.access,
}));

type Outcome = { ok: true } | { ok: false; code: string; message: string };

const CALL_TIMEOUT_MS = 1_500;
/** The fixture's gateway id (fixtures.ts default), which the image cases' test node pins. */
const MATRIX_SERVER_ID = "testserverid2345678901234a";

/**
 * Calls `path` as the context's caller; a call still running after the timeout got past the
 * checks. A subscription is not consumed unless `firstItem` (then its first item or error is
 * the outcome).
 */
async function call(
  ctx: ReturnType<typeof contextFor>,
  path: string,
  input: unknown,
  firstItem = false,
): Promise<Outcome> {
  const abort = new AbortController();
  const caller = createCaller(ctx, { signal: abort.signal });
  let fn: unknown = caller;
  for (const part of path.split(".")) fn = (fn as Record<string, unknown>)[part];
  const timer = new Promise<Outcome>((resolve) =>
    setTimeout(() => resolve({ ok: true }), CALL_TIMEOUT_MS),
  );
  try {
    const run = (async (): Promise<Outcome> => {
      const out = await (fn as (i: unknown) => Promise<unknown>)(input);
      // Subscriptions resolve to an iterator once the middlewares passed: do not consume it.
      const it = out as AsyncIterator<unknown> | null;
      if (it && typeof it === "object" && Symbol.asyncIterator in it) {
        if (firstItem) await it.next();
        void it.return?.();
      }
      return { ok: true };
    })();
    return await Promise.race([run, timer]);
  } catch (e) {
    if (e instanceof TRPCError) return { ok: false, code: e.code, message: e.message };
    // Raised inside a subscription's stream (after the middlewares): the transport maps it.
    if (isDomainError(e)) return { ok: false, code: TRPC_CODE_BY_KIND[e.kind], message: e.message };
    throw e;
  } finally {
    abort.abort();
  }
}

const DENIED = new Set(["UNAUTHORIZED", "FORBIDDEN"]);

describe("permission matrix (generated from appRouter)", () => {
  let f: Fixture;
  const tokens = new Map<CallerKind, string>();
  const userIds = new Map<CallerKind, string>();
  let teamA: string;
  let teamB: string;

  beforeAll(async () => {
    f = await createFixture();
    teamA = f.services.teams.create("alpha").id;
    teamB = f.services.teams.create("beta").id;
    f.services.teams.create("scratch-team");
    const customRole = f.services.teams.createRole(teamA, {
      name: "deployer",
      permissions: CUSTOM_PERMISSIONS,
    });
    for (const kind of KINDS) {
      const id = await addUser(f, `m-${kind}`, { isAdmin: kind === "admin" });
      // addUser puts everyone in the server's default team: start from no membership.
      f.db.delete(teamMembers).where(eq(teamMembers.userId, id)).run();
      userIds.set(kind, id);
      if (kind === "outsider")
        f.db.insert(teamMembers).values({ teamId: teamB, userId: id, role: "owner" }).run();
      else if (kind === "custom")
        f.db
          .insert(teamMembers)
          .values({ teamId: teamA, userId: id, role: "custom", roleId: customRole.id! })
          .run();
      else if (kind !== "teamless" && kind !== "admin")
        f.db.insert(teamMembers).values({ teamId: teamA, userId: id, role: kind }).run();
      tokens.set(kind, f.services.auth.createApiToken(id, "matrix").token);
    }
    await addUser(f, "scratch");
    const nodeA = insertNode(f, "node-a");
    insertContainer(f, nodeA, "web-a", { teamId: teamA });
    insertContainer(f, nodeA, "web-b", { teamId: teamB });
  }, 60_000);

  afterAll(async () => {
    await f?.close();
  });

  const ctxOf = (kind: CallerKind, team?: string) =>
    contextFor(f, {
      authorization: `Bearer ${tokens.get(kind)!}`,
      ...(team ? { team } : {}),
    });

  const deniedRows = (path: string, kind: CallerKind) =>
    f.db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.action, path),
          eq(auditEvents.actorId, userIds.get(kind)!),
          eq(auditEvents.result, "denied"),
        ),
      )
      .all().length;

  it("covers the whole router", () => {
    expect(procedures.length).toBeGreaterThan(50);
  });

  it("every procedure declares its access; public and signed-in-only ones are listed", () => {
    const problems: string[] = [];
    for (const p of procedures) {
      if (!p.access) problems.push(`${p.path}: no access declared (use procedureWith(…))`);
      else if (p.access.kind === "public" && !PUBLIC.has(p.path))
        problems.push(`${p.path}: public but not listed as public`);
      else if (p.access.kind === "authenticated" && !SIGNED_IN_ONLY.has(p.path))
        problems.push(`${p.path}: signed-in only, needs a permission (procedureWith)`);
      else if (p.access.kind === "permission" && !PERMISSIONS.includes(p.access.permission))
        problems.push(`${p.path}: unknown permission ${p.access.permission}`);
    }
    expect(problems).toEqual([]);
  });

  it("node management is for administrators: no built-in role grants node.manage", () => {
    for (const role of Object.keys(
      BUILTIN_ROLE_PERMISSIONS,
    ) as (keyof typeof BUILTIN_ROLE_PERMISSIONS)[])
      expect(BUILTIN_ROLE_PERMISSIONS[role]).not.toContain("node.manage");
  });

  for (const p of procedures) {
    if (!p.access || p.access.kind === "public") continue;
    const access = p.access;
    describe(p.path, () => {
      const input = INPUTS[p.path] ?? {};

      it("signed-out callers are refused and audited", async () => {
        const out = await call(contextFor(f), p.path, input);
        expect(out).toMatchObject({ ok: false, code: "UNAUTHORIZED" });
        const rows = f.db
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.action, p.path), eq(auditEvents.result, "denied")))
          .all();
        expect(rows.length).toBeGreaterThan(0);
      });

      for (const kind of KINDS.filter((k) => k !== "outsider")) {
        const allowed =
          access.kind === "authenticated"
            ? true
            : access.kind === "admin"
              ? kind === "admin"
              : heldInTeamA(kind).has(access.permission);
        // A team named in the input that the caller is not in does not exist for them.
        const hidden =
          !allowed &&
          kind === "teamless" &&
          access.kind === "permission" &&
          access.team === "input";
        const expected = allowed ? "allowed" : hidden ? "NOT_FOUND" : "FORBIDDEN";
        it(`${kind} in team alpha: ${expected}`, async () => {
          // Members and the administrator act in alpha; the teamless user in the default team.
          const acting = kind === "teamless" ? undefined : "alpha";
          const before = deniedRows(p.path, kind);
          const out = await call(ctxOf(kind, acting), p.path, input);
          if (allowed) {
            if (!out.ok) expect(DENIED.has(out.code), `${out.code}: ${out.message}`).toBe(false);
          } else if (hidden) {
            expect(out).toMatchObject({ ok: false, code: "NOT_FOUND" });
          } else {
            // Signed-in callers without the permission: FORBIDDEN, never executed, audited.
            expect(out).toMatchObject({ ok: false, code: "FORBIDDEN" });
            expect(deniedRows(p.path, kind)).toBe(before + 1);
          }
        });
      }

      it("a member of another team naming alpha as their team gets NOT_FOUND", async () => {
        const out = await call(ctxOf("outsider", "alpha"), p.path, input);
        expect(out).toMatchObject({ ok: false, code: "NOT_FOUND" });
      });

      if (CROSS_TEAM.has(p.path)) {
        it("alpha's ids from beta (an owner there) are NOT_FOUND", async () => {
          const out = await call(ctxOf("outsider", "beta"), p.path, input, true);
          expect(out).toMatchObject({ ok: false, code: "NOT_FOUND" });
        });
      }
    });
  }

  describe("alpha's images on a node shared with beta", () => {
    const APP = "reg.local:5000/alpha/app:1";
    const DIGEST = `sha256:${"a".repeat(64)}`;
    let srv: PeerServer;
    let peer: ProtocolPeer;
    const commands: string[] = [];

    beforeAll(async () => {
      srv = await startPeerServer(f, MATRIX_SERVER_ID);
      const c = await srv.connect("shared");
      peer = c.peer;
      // The node answers image.list with alpha's image; every other command is only recorded.
      peer.ws.on("message", (raw) => {
        const frame = JSON.parse(raw.toString()) as { type: string; id: string; name?: string };
        if (frame.type !== "command" || frame.name === undefined) return;
        commands.push(frame.name);
        if (frame.name === "image.list")
          peer.reply(frame.id, {
            images: [{ ref: APP, digest: DIGEST, size: 1, createdAt: "2026-01-02T03:04:05Z" }],
          });
      });
      f.db
        .insert(imageClaims)
        .values({ nodeId: c.j.nodeId, teamId: teamA, ref: APP, digest: DIGEST })
        .run();
    });
    afterAll(async () => {
      await srv?.close();
    });

    const IMAGE_INPUTS: Record<string, unknown> = {
      "images.inspect": { ref: APP, node: "shared" },
      "images.tag": { source: APP, target: "beta-copy:1", node: "shared" },
      "images.remove": { ref: APP, force: true, node: "shared" },
      "images.push": { source: APP, target: "reg.local:5000/beta/x:1", node: "shared" },
    };
    for (const [path, input] of Object.entries(IMAGE_INPUTS)) {
      it(`${path}: alpha's image (by name and by id) is NOT_FOUND from beta`, async () => {
        const before = commands.filter((c) => c !== "image.list").length;
        const out = await call(ctxOf("outsider", "beta"), path, input, true);
        expect(out).toMatchObject({ ok: false, code: "NOT_FOUND" });
        const byId = JSON.parse(
          JSON.stringify(input).replaceAll(APP, DIGEST.slice(7, 19)),
        ) as unknown;
        const out2 = await call(ctxOf("outsider", "beta"), path, byId, true);
        expect(out2).toMatchObject({ ok: false, code: "NOT_FOUND" });
        // Nothing but the list reached the node.
        expect(commands.filter((c) => c !== "image.list").length).toBe(before);
      });
    }

    it("images.list: beta sees none of alpha's images; alpha's owner and the admin do", async () => {
      const list = (kind: CallerKind, team: string) =>
        createCaller(ctxOf(kind, team)).images.list({ node: "shared" });
      expect(await list("outsider", "beta")).toEqual([]);
      expect((await list("owner", "alpha")).map((i) => i.ref)).toEqual([APP]);
      expect((await list("admin", "alpha")).map((i) => [i.ref, i.teams])).toEqual([
        [APP, ["alpha"]],
      ]);
    });
  });

  it("the custom role's holder sees alpha's container and not beta's", async () => {
    const caller = createCaller(ctxOf("custom"));
    const list = await caller.containers.list({ all: true });
    expect(list.map((c) => c.name)).toEqual(["web-a"]);
    const other = createCaller(ctxOf("outsider"));
    expect((await other.containers.list({ all: true })).map((c) => c.name)).toEqual(["web-b"]);
  });
});
