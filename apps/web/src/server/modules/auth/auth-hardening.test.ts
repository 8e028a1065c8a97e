import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CSRF_COOKIE, CSRF_HEADER } from "@berth/core";
import { apiTokens, sessions } from "@berth/db";
import { buildContext } from "../../context";
import { createCaller } from "../../root";
import { csrfTokenFor } from "../../security";
import { ADMIN_PASSWORD, addUser, createFixture, type Fixture } from "../../testing/fixtures";
import { AuthService, TOKEN_USE_AUDIT_INTERVAL_MS } from "./auth.service";
import { LoginLimiter } from "./login-limiter";

describe("LoginLimiter", () => {
  it("allows 5 account failures in 15 minutes, then backs off exponentially from the last one", () => {
    let t = 0;
    const l = new LoginLimiter(() => t);
    for (let i = 0; i < 5; i++) {
      expect(l.check("alice", "10.0.0.1").allowed).toBe(true);
      l.failed("alice", "10.0.0.1");
      t += 1000;
    }
    // 5 failures: 30 s from the last one (which was 1 s ago).
    expect(l.check("Alice", "10.0.0.2")).toMatchObject({
      allowed: false,
      retryAfterMs: 29_000,
      scope: "account",
    });
    t += 29_000;
    expect(l.check("alice", null).allowed).toBe(true);
    l.failed("alice", null);
    // 6 failures: 60 s.
    expect(l.check("alice", null)).toMatchObject({ allowed: false, retryAfterMs: 60_000 });
    t += 60_000;
    l.failed("alice", null);
    expect(l.check("alice", null)).toMatchObject({ allowed: false, retryAfterMs: 120_000 });
    // A success clears the account.
    l.succeeded("alice");
    expect(l.check("alice", null).allowed).toBe(true);
    // Failures age out of the window.
    for (let i = 0; i < 5; i++) l.failed("bob", null);
    t += 15 * 60 * 1000;
    expect(l.check("bob", null).allowed).toBe(true);
  });

  it("blocks an address after 20 failures in 15 minutes, whatever the accounts", () => {
    let t = 0;
    const l = new LoginLimiter(() => t);
    for (let i = 0; i < 20; i++) {
      l.failed(`user${i}`, "10.0.0.9");
      t += 1000;
    }
    expect(l.check("someone-else", "10.0.0.9")).toMatchObject({
      allowed: false,
      scope: "address",
      retryAfterMs: 15 * 60 * 1000 - 20_000,
    });
    expect(l.check("someone-else", "10.0.0.10").allowed).toBe(true);
  });
});

describe("AuthService hardening", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it("rate limits sign-in per account with a retry-after, and the tRPC login audits the refusal", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const auth = new AuthService(f.db, () => now);
    for (let i = 0; i < 5; i++)
      await expect(auth.login("admin", "wrong", "10.1.1.1")).rejects.toMatchObject({
        kind: "unauthenticated",
      });
    // Even the right password waits now.
    await expect(auth.login("admin", ADMIN_PASSWORD, "10.1.1.2")).rejects.toMatchObject({
      kind: "forbidden",
      message: "too many failed sign-ins for admin: try again in 30 s",
      details: { retryAfterSeconds: 30 },
    });
    now = new Date(now.getTime() + 31_000);
    await expect(auth.login("admin", ADMIN_PASSWORD, "10.1.1.2")).resolves.toMatchObject({
      user: { username: "admin" },
    });

    // Through the API: failures and the refusal are audited as denied logins.
    const ctx = () =>
      buildContext(
        { services: f.services, defaultTeamId: f.defaultTeamId, secureCookies: false },
        { address: "10.2.2.2", setCookie: () => undefined },
      );
    for (let i = 0; i < 6; i++)
      await createCaller(ctx())
        .auth.login({ username: "admin", password: "nope" })
        .catch(() => undefined);
    const rows = f.services.audit.list(
      { isAdmin: true, teamId: null },
      { action: "auth.login", result: "denied" },
    ).items;
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatchObject({
      actorName: "admin",
      address: "10.2.2.2",
      error: expect.stringMatching(/^too many failed sign-ins for admin/),
    });
    expect(rows[0]!.params).toEqual({ username: "admin", password: "[redacted]" });
  });

  it("rotates the session on sign-in: the session presented before is ended", async () => {
    const first = await f.services.auth.login("admin", ADMIN_PASSWORD, null);
    const second = await f.services.auth.login("admin", ADMIN_PASSWORD, null, first.sessionSecret);
    expect(second.sessionSecret).not.toBe(first.sessionSecret);
    expect(f.services.auth.userForSession(first.sessionSecret)).toBeNull();
    expect(f.services.auth.userForSession(second.sessionSecret)?.username).toBe("admin");
  });

  it("signs out everywhere: every session, and the tokens when asked", async () => {
    const a = await f.services.auth.login("admin", ADMIN_PASSWORD, null);
    const b = await f.services.auth.login("admin", ADMIN_PASSWORD, null);
    const { token } = f.services.auth.createApiToken(f.adminId, "ci");
    expect(f.services.auth.logoutEverywhere(f.adminId)).toEqual({
      sessionsEnded: 2,
      tokensRevoked: 0,
    });
    expect(f.services.auth.userForSession(a.sessionSecret)).toBeNull();
    expect(f.services.auth.userForSession(b.sessionSecret)).toBeNull();
    expect(f.services.auth.userForApiToken(token)).not.toBeNull();
    expect(f.services.auth.logoutEverywhere(f.adminId, { tokens: true })).toEqual({
      sessionsEnded: 0,
      tokensRevoked: 1,
    });
    expect(f.services.auth.userForApiToken(token)).toBeNull();
  });

  it("changes a password only with the current one and ends the other sessions", async () => {
    const other = await f.services.auth.login("admin", ADMIN_PASSWORD, null);
    await expect(
      f.services.auth.changePassword(
        f.adminId,
        { currentPassword: "wrong", newPassword: "a new password" },
        null,
      ),
    ).rejects.toMatchObject({ kind: "forbidden", message: "the current password is wrong" });
    await expect(
      f.services.auth.changePassword(
        f.adminId,
        { currentPassword: ADMIN_PASSWORD, newPassword: "short" },
        null,
      ),
    ).rejects.toThrow(/at least 8 characters/);
    const out = await f.services.auth.changePassword(
      f.adminId,
      { currentPassword: ADMIN_PASSWORD, newPassword: "a new password" },
      null,
    );
    expect(f.services.auth.userForSession(other.sessionSecret)).toBeNull();
    expect(f.services.auth.userForSession(out.sessionSecret)?.username).toBe("admin");
    expect(f.db.select().from(sessions).all()).toHaveLength(1);
    await expect(f.services.auth.login("admin", ADMIN_PASSWORD, null)).rejects.toMatchObject({
      kind: "unauthenticated",
    });
    await expect(f.services.auth.login("admin", "a new password", null)).resolves.toBeTruthy();
  });

  it("stops a disabled user's sessions and tokens at once", async () => {
    const id = await addUser(f, "dora", { password: "dora-password" });
    const { sessionSecret } = await f.services.auth.login("dora", "dora-password", null);
    const { token } = f.services.auth.createApiToken(id, "ci");
    expect(f.services.auth.userForSession(sessionSecret)).not.toBeNull();
    expect(f.services.auth.userForApiToken(token)).not.toBeNull();
    f.db.$client.prepare("update users set disabled = 1 where id = ?").run(id);
    expect(f.services.auth.userForSession(sessionSecret)).toBeNull();
    expect(f.services.auth.userForApiToken(token)).toBeNull();
  });

  it("creates scoped, expiring tokens shown once; lists them without secrets; revokes by name or id", () => {
    const now = new Date("2026-03-01T00:00:00Z");
    const auth = new AuthService(f.db, () => now, f.services.audit);
    const made = auth.createApiToken(f.adminId, {
      name: "deploy bot",
      scopes: ["container.read", "container.create", "container.read"],
      expiresInDays: 30,
    });
    expect(made.token).toMatch(/^berth_/);
    expect(made.view).toMatchObject({
      name: "deploy bot",
      scopes: ["container.read", "container.create"],
      expiresAt: now.getTime() + 30 * 24 * 3600 * 1000,
      lastUsedAt: null,
    });
    const stored = f.db.select().from(apiTokens).all();
    expect(JSON.stringify(stored)).not.toContain(made.token);
    expect(auth.userForApiToken(made.token)).toMatchObject({
      username: "admin",
      tokenId: made.id,
      tokenScopes: ["container.read", "container.create"],
    });
    const listed = auth.listApiTokens(f.adminId);
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty("token");
    expect(listed[0]).not.toHaveProperty("tokenHash");
    expect(listed[0]!.lastUsedAt).toBe(now.getTime());

    const other = auth.createApiToken(f.adminId, { name: "laptop" });
    expect(auth.userForApiToken(other.token)?.tokenScopes).toBeNull();
    auth.createApiToken(f.adminId, { name: "laptop" });
    expect(() => auth.revokeApiToken(f.adminId, "laptop")).toThrow(/several tokens are named/);
    expect(auth.revokeApiToken(f.adminId, other.id).revokedAt).toBe(now.getTime());
    expect(auth.revokeApiToken(f.adminId, "deploy bot").name).toBe("deploy bot");
    expect(() => auth.revokeApiToken(f.adminId, "deploy bot")).toThrow(/no active token/);
    expect(auth.userForApiToken(made.token)).toBeNull();
    expect(auth.listApiTokens(f.adminId).map((t) => t.name)).toEqual(["laptop"]);
    expect(auth.listApiTokens(f.adminId, { all: true })).toHaveLength(3);
    // Another user cannot revoke it.
    expect(() => auth.revokeApiToken("someone", "laptop")).toThrow(/no active token/);
  });

  it("audits a token's use once per hour, and a revoked token's attempts as denied", () => {
    let now = new Date("2026-03-01T00:00:00Z");
    const auth = new AuthService(f.db, () => now, f.services.audit);
    const { token, id } = auth.createApiToken(f.adminId, "ci");
    for (let i = 0; i < 5; i++) auth.userForApiToken(token, "10.0.0.5");
    const uses = () =>
      f.services.audit.list({ isAdmin: true, teamId: null }, { action: "auth.token.use" }).items;
    expect(uses()).toHaveLength(1);
    expect(uses()[0]).toMatchObject({
      actorName: "admin",
      target: "ci",
      result: "ok",
      address: "10.0.0.5",
      params: { tokenId: id },
    });
    now = new Date(now.getTime() + TOKEN_USE_AUDIT_INTERVAL_MS);
    auth.userForApiToken(token, "10.0.0.5");
    expect(uses()).toHaveLength(2);
    auth.revokeApiToken(f.adminId, id);
    auth.userForApiToken(token, "10.0.0.6");
    auth.userForApiToken(token, "10.0.0.6");
    expect(uses()[0]).toMatchObject({ result: "denied", error: "the token was revoked" });
    expect(uses()).toHaveLength(3);
  });
});

describe("tokens and account over tRPC", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  const bearer = (token: string) =>
    buildContext(
      { services: f.services, defaultTeamId: f.defaultTeamId, secureCookies: false },
      { authorization: `Bearer ${token}`, method: "POST", setCookie: () => undefined },
    );

  it("a token cannot mint a token that outlives it", async () => {
    const short = f.services.auth.createApiToken(f.adminId, { name: "short", expiresInDays: 1 });
    const made = await createCaller(bearer(short.token)).auth.tokens.create({
      name: "long",
      expiresInDays: 365,
    });
    expect(made.expiresAt).toBe(short.view.expiresAt);
    const forever = await createCaller(bearer(short.token)).auth.tokens.create({ name: "f" });
    expect(forever.expiresAt).toBe(short.view.expiresAt);
  });

  it("a scoped token cannot mint tokens at all (account management needs an unscoped one)", async () => {
    const scoped = f.services.auth.createApiToken(f.adminId, {
      name: "narrow",
      scopes: ["container.read"],
    });
    const caller = createCaller(bearer(scoped.token));
    await expect(
      caller.auth.tokens.create({ name: "wide", scopes: ["container.delete"] }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(caller.auth.tokens.create({ name: "same" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    const listed = await caller.auth.tokens.list();
    expect(listed.map((t) => t.name).sort()).toEqual(["narrow"]);
    // An unscoped token mints one; the creation is audited without the secret.
    const full = f.services.auth.createApiToken(f.adminId, "full");
    const made = await createCaller(bearer(full.token)).auth.tokens.create({ name: "same" });
    expect(made.token).toMatch(/^berth_/);
    const row = f.services.audit.recent().find((r) => r.action === "auth.tokens.create")!;
    expect(row).toMatchObject({ result: "ok", target: "same" });
    expect(JSON.stringify(row)).not.toContain(made.token);
  });
});

describe("CSRF protection of cookie-authenticated mutations", () => {
  let f: Fixture;
  let secret: string;
  beforeEach(async () => {
    f = await createFixture();
    secret = (await f.services.auth.login("admin", ADMIN_PASSWORD, null)).sessionSecret;
  });
  afterEach(async () => {
    await f.close();
  });

  const cookieCtx = (method: string, headers: Record<string, string> = {}) => {
    const set: string[] = [];
    const ctx = buildContext(
      { services: f.services, defaultTeamId: f.defaultTeamId, secureCookies: false },
      {
        cookie: `berth_session=${encodeURIComponent(secret)}`,
        method,
        headers: { host: "berth.example:8080", ...headers },
        address: "10.9.9.9",
        setCookie: (v) => set.push(v),
      },
    );
    return { ctx, set };
  };

  it("refuses a cookie mutation without the token, and audits the refusal with the actor", async () => {
    const { ctx } = cookieCtx("POST");
    await expect(createCaller(ctx).auth.tokens.create({ name: "forged" })).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: "missing or wrong CSRF token (x-berth-csrf): reload the page",
    });
    expect(f.services.auth.listApiTokens(f.adminId)).toEqual([]);
    expect(f.services.audit.recent(1)[0]).toMatchObject({
      action: "auth.tokens.create",
      result: "denied",
      actorName: "admin",
      address: "10.9.9.9",
    });
  });

  it("accepts the token from the cookie; refuses a wrong one and a cross-site origin", async () => {
    const token = csrfTokenFor(secret);
    const ok = cookieCtx("POST", { [CSRF_HEADER]: token, origin: "http://berth.example:8080" });
    await expect(createCaller(ok.ctx).auth.tokens.create({ name: "real" })).resolves.toMatchObject({
      name: "real",
    });
    const wrong = cookieCtx("POST", { [CSRF_HEADER]: "0".repeat(64) });
    await expect(createCaller(wrong.ctx).auth.tokens.create({ name: "x" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    const evil = cookieCtx("POST", { [CSRF_HEADER]: token, origin: "https://evil.example" });
    await expect(createCaller(evil.ctx).auth.tokens.create({ name: "y" })).rejects.toMatchObject({
      message: "request from another origin (https://evil.example) refused",
    });
    // Behind a proxy that rewrites Host, the forwarded host is the dashboard's.
    const proxied = cookieCtx("POST", {
      [CSRF_HEADER]: token,
      host: "127.0.0.1:8080",
      "x-forwarded-host": "berth.example.com",
      origin: "https://berth.example.com",
    });
    expect(proxied.ctx.csrfError).toBeNull();
    const site = cookieCtx("POST", { [CSRF_HEADER]: token, "sec-fetch-site": "cross-site" });
    expect(site.ctx.csrfError).toBe("cross-site request refused");
  });

  it("checks nothing on GET and hands out the CSRF cookie; Bearer calls are exempt", async () => {
    const { ctx, set } = cookieCtx("GET");
    expect(ctx.csrfError).toBeNull();
    expect(ctx.user?.username).toBe("admin");
    expect(set).toEqual([
      `${CSRF_COOKIE}=${csrfTokenFor(secret)}; Path=/; SameSite=Strict; Max-Age=1209600`,
    ]);
    const { token } = f.services.auth.createApiToken(f.adminId, "ci");
    const ctx2 = buildContext(
      { services: f.services, defaultTeamId: f.defaultTeamId, secureCookies: false },
      { authorization: `Bearer ${token}`, method: "POST", headers: {}, setCookie: () => undefined },
    );
    expect(ctx2.csrfError).toBeNull();
    await expect(createCaller(ctx2).auth.tokens.create({ name: "ok" })).resolves.toBeTruthy();
  });

  it("sets HttpOnly session and Strict CSRF cookies on sign-in, Secure when configured", async () => {
    const set: string[] = [];
    const ctx = buildContext(
      { services: f.services, defaultTeamId: f.defaultTeamId, secureCookies: true },
      { method: "POST", headers: {}, setCookie: (v) => set.push(v) },
    );
    await createCaller(ctx).auth.login({ username: "admin", password: ADMIN_PASSWORD });
    expect(set[0]).toMatch(
      /^berth_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=/,
    );
    expect(set[1]).toMatch(/^berth_csrf=[0-9a-f]{64}; Path=\/; SameSite=Strict; Secure; Max-Age=/);
  });
});
