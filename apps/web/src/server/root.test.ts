/** The router through createCaller: input validation, authentication, permissions, audit. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditEvents, desc } from "@berth/db";
import { createCaller } from "./root";
import {
  ADMIN_PASSWORD,
  addUser,
  contextFor,
  createFixture,
  trpcErrorOf,
  type Fixture,
} from "./testing/fixtures";

const trpcError = trpcErrorOf;

describe("appRouter", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  const lastAudit = () => f.db.select().from(auditEvents).orderBy(desc(auditEvents.id)).get();

  it("answers malformed input with BAD_REQUEST and a readable message", async () => {
    const caller = createCaller(contextFor(f));
    const err = await trpcError(caller.auth.login({ username: "", password: "x" }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toContain("a username is required");
    expect(err.message).not.toContain('"code"'); // not a JSON dump of zod issues
    const audit = lastAudit()!;
    expect(audit).toMatchObject({ action: "auth.login", result: "error" });
  });

  it("refuses signed-out callers with UNAUTHORIZED", async () => {
    const caller = createCaller(contextFor(f));
    expect(await caller.auth.me()).toBeNull();
    expect((await trpcError(caller.nodes.list())).code).toBe("UNAUTHORIZED");
    expect((await trpcError(caller.containers.list())).code).toBe("UNAUTHORIZED");
    const err = await trpcError(caller.containers.remove({ ref: "web" }));
    expect(err.code).toBe("UNAUTHORIZED");
    expect(lastAudit()).toMatchObject({
      action: "containers.remove",
      result: "denied",
      actorId: null,
      target: "web",
    });
  });

  it("logs in, sets an httpOnly SameSite=Lax cookie, audits success and failure with the password redacted", async () => {
    const caller = createCaller(contextFor(f));
    await trpcError(caller.auth.login({ username: "admin", password: "wrong" }));
    expect(lastAudit()).toMatchObject({
      action: "auth.login",
      result: "denied",
      actorName: "admin",
      params: { username: "admin", password: "[redacted]" },
    });
    const me = await caller.auth.login({ username: "admin", password: ADMIN_PASSWORD });
    expect(me).toMatchObject({ username: "admin", isAdmin: true });
    expect(lastAudit()).toMatchObject({
      action: "auth.login",
      result: "ok",
      actorId: me.id,
      address: "127.0.0.1",
    });
    expect(JSON.stringify(lastAudit()!.params)).not.toContain(ADMIN_PASSWORD);
    // The session cookie, then the CSRF cookie the dashboard copies into x-berth-csrf.
    const cookie = f.cookies.find((c) => c.startsWith("berth_session="))!;
    expect(cookie).toMatch(
      /^berth_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=1209600$/,
    );
    expect(f.cookies.at(-1)).toMatch(/^berth_csrf=[0-9a-f]{64}; Path=\/; SameSite=Strict;/);
    const signedIn = createCaller(contextFor(f, { cookie: cookie.split(";")[0]! }));
    expect(await signedIn.auth.me()).toMatchObject({ username: "admin" });
    expect(await signedIn.auth.logout()).toEqual({ ok: true });
    expect(f.cookies.filter((c) => c.endsWith("Max-Age=0"))).toHaveLength(2);
    expect(
      await createCaller(contextFor(f, { cookie: cookie.split(";")[0]! })).auth.me(),
    ).toBeNull();
  });

  it("authenticates the CLI with a Bearer API token", async () => {
    const { token } = await createCaller(contextFor(f)).auth.cliLogin({
      username: "admin",
      password: ADMIN_PASSWORD,
    });
    const cli = createCaller(contextFor(f, { authorization: `Bearer ${token}` }));
    expect(await cli.nodes.list()).toEqual([]);
    expect(
      (
        await trpcError(
          createCaller(contextFor(f, { authorization: "Bearer berth_forged" })).nodes.list(),
        )
      ).code,
    ).toBe("UNAUTHORIZED");
    expect(JSON.stringify(f.db.select().from(auditEvents).all())).not.toContain(token);
  });

  it("forbids non-admins from creating join tokens and audits the attempt as denied", async () => {
    await addUser(f, "olive", { password: "olive-password", role: "operator" });
    const { token } = await createCaller(contextFor(f)).auth.cliLogin({
      username: "olive",
      password: "olive-password",
    });
    const olive = createCaller(contextFor(f, { authorization: `Bearer ${token}` }));
    const err = await trpcError(olive.joinTokens.create({ ttlSeconds: 600 }));
    expect(err.code).toBe("FORBIDDEN");
    expect(err.message).toBe("only administrators may do this (node.manage)");
    expect(lastAudit()).toMatchObject({
      action: "joinTokens.create",
      result: "denied",
      actorName: "olive",
      params: { ttlSeconds: 600 },
    });
    expect((await trpcError(olive.joinTokens.list())).code).toBe("FORBIDDEN");
  });

  it("lets admins create join tokens, audited with the token's id as target and no secret", async () => {
    const { token } = await createCaller(contextFor(f)).auth.cliLogin({
      username: "admin",
      password: ADMIN_PASSWORD,
    });
    const admin = createCaller(contextFor(f, { authorization: `Bearer ${token}` }));
    const jt = await admin.joinTokens.create({});
    expect(jt.expiresAt - Date.now()).toBeGreaterThan(3500_000);
    expect(lastAudit()).toMatchObject({ action: "joinTokens.create", result: "ok", target: jt.id });
    expect(JSON.stringify(lastAudit())).not.toContain(jt.token);
    expect(await admin.joinTokens.list()).toHaveLength(1);
  });

  it("maps domain errors to tRPC codes: not_found, conflict, invalid_state, unavailable", async () => {
    const { token } = await createCaller(contextFor(f)).auth.cliLogin({
      username: "admin",
      password: ADMIN_PASSWORD,
    });
    const admin = createCaller(contextFor(f, { authorization: `Bearer ${token}` }));
    expect((await trpcError(admin.containers.get({ ref: "nothing" }))).code).toBe("NOT_FOUND");
    expect((await trpcError(admin.nodes.get({ ref: "nowhere" }))).code).toBe("NOT_FOUND");
    const run = await trpcError(admin.containers.run({ spec: { image: "busybox" } }));
    expect(run.code).toBe("SERVICE_UNAVAILABLE");
    expect(lastAudit()).toMatchObject({
      action: "containers.run",
      result: "error",
      target: "busybox",
    });
    expect((await trpcError(admin.containers.run({ spec: { image: "Not An Image!" } }))).code).toBe(
      "BAD_REQUEST",
    );
  });

  it("viewers may read but not change containers", async () => {
    await addUser(f, "vic", { password: "vic-password", role: "viewer" });
    const { token } = await createCaller(contextFor(f)).auth.cliLogin({
      username: "vic",
      password: "vic-password",
    });
    const vic = createCaller(contextFor(f, { authorization: `Bearer ${token}` }));
    expect(await vic.containers.list({ all: true })).toEqual([]);
    expect((await trpcError(vic.containers.run({ spec: { image: "busybox" } }))).code).toBe(
      "FORBIDDEN",
    );
    expect(lastAudit()).toMatchObject({ action: "containers.run", result: "denied" });
  });
});
