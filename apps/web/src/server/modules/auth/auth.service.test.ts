import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eq, sessions } from "@berth/db";
import { sha256Hex } from "../../security";
import { ADMIN_PASSWORD, addUser, createFixture, type Fixture } from "../../testing/fixtures";
import { AuthService, SESSION_TTL_MS } from "./auth.service";

describe("AuthService", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it("logs in with the right password and stores only the session secret's sha256", async () => {
    const out = await f.services.auth.login("admin", ADMIN_PASSWORD, "127.0.0.1");
    expect(out.user).toMatchObject({ username: "admin", isAdmin: true });
    expect(out.sessionSecret.length).toBeGreaterThanOrEqual(40);
    const row = f.db.select().from(sessions).get()!;
    expect(row.tokenHash).toBe(sha256Hex(out.sessionSecret));
    expect(row.tokenHash).not.toContain(out.sessionSecret);
    expect(row.expiresAt.getTime() - Date.now()).toBeGreaterThan(SESSION_TTL_MS - 60_000);
    expect(f.services.auth.userForSession(out.sessionSecret)).toMatchObject({ username: "admin" });
  });

  it("refuses a wrong password and an unknown user with the same message", async () => {
    await expect(f.services.auth.login("admin", "wrong password", null)).rejects.toMatchObject({
      kind: "unauthenticated",
      message: "invalid username or password",
    });
    await expect(f.services.auth.login("nobody", "whatever", null)).rejects.toMatchObject({
      kind: "unauthenticated",
      message: "invalid username or password",
    });
    expect(f.db.select().from(sessions).all()).toHaveLength(0);
  });

  it("refuses a disabled user even with the right password, and drops its sessions' access", async () => {
    await addUser(f, "dora", { password: "dora-password", disabled: true });
    await expect(f.services.auth.login("dora", "dora-password", null)).rejects.toMatchObject({
      kind: "forbidden",
    });
  });

  it("expires sessions after 14 days", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const auth = new AuthService(f.db, () => now);
    const { sessionSecret } = await auth.login("admin", ADMIN_PASSWORD, null);
    now = new Date(now.getTime() + SESSION_TTL_MS - 1000);
    expect(auth.userForSession(sessionSecret)?.username).toBe("admin");
    now = new Date(now.getTime() + 2000);
    expect(auth.userForSession(sessionSecret)).toBeNull();
    // the expired session is gone from the table
    expect(
      f.db
        .select()
        .from(sessions)
        .where(eq(sessions.tokenHash, sha256Hex(sessionSecret)))
        .get(),
    ).toBeUndefined();
    expect(auth.userForSession("not-a-session")).toBeNull();
  });

  it("logout removes the session", async () => {
    const { sessionSecret } = await f.services.auth.login("admin", ADMIN_PASSWORD, null);
    f.services.auth.logout(sessionSecret);
    expect(f.services.auth.userForSession(sessionSecret)).toBeNull();
  });

  it("issues berth_ API tokens that authenticate until revoked, expired or the user is disabled", async () => {
    const { token, user } = await f.services.auth.cliLogin("admin", ADMIN_PASSWORD, "laptop");
    expect(token).toMatch(/^berth_[A-Za-z0-9_-]{40,}$/);
    expect(user.username).toBe("admin");
    expect(f.services.auth.userForApiToken(token)?.username).toBe("admin");
    expect(f.services.auth.userForApiToken(`${token}x`)).toBeNull();
    expect(f.services.auth.userForApiToken("not-berth-token")).toBeNull();

    let now = new Date();
    const auth = new AuthService(f.db, () => now);
    const short = auth.createApiToken(f.adminId, "short", 1000);
    expect(auth.userForApiToken(short.token)).not.toBeNull();
    now = new Date(now.getTime() + 2000);
    expect(auth.userForApiToken(short.token)).toBeNull();

    const bobId = await addUser(f, "bob");
    const bobToken = f.services.auth.createApiToken(bobId, "ci").token;
    expect(f.services.auth.userForApiToken(bobToken)?.username).toBe("bob");
    f.db.$client.prepare("update users set disabled = 1 where id = ?").run(bobId);
    expect(f.services.auth.userForApiToken(bobToken)).toBeNull();
  });
});
