/** The HTTP surface over a real socket on 127.0.0.1: health, tRPC over HTTP, cookies, error shapes. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_PASSWORD, createFixture, type Fixture } from "./testing/fixtures";
import { startTestServer, type TestServer } from "./testing/test-server";

describe("http app", () => {
  let f: Fixture;
  let server: TestServer;
  let base: string;

  beforeEach(async () => {
    f = await createFixture();
    server = await startTestServer(f, "s", { notFoundBody: "next would answer" });
    base = `http://${server.base}`;
  });
  afterEach(async () => {
    await f.close();
    await server.close();
  });

  it("serves /api/health", async () => {
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "ok",
      version: "test",
      db: "ok",
      agentsConnected: 0,
    });
    expect((await fetch(`${base}/somewhere-else`)).status).toBe(404);
  });

  it("reports a failing database as 503 degraded", async () => {
    f.db.$client.close();
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "degraded", db: "error" });
    f.close = async () => f.gateway.close();
  });

  it("logs in over HTTP: Set-Cookie, then the cookie authenticates", async () => {
    const login = await fetch(`${base}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }),
    });
    expect(login.status).toBe(200);
    const [setCookie, setCsrf] = login.headers.getSetCookie();
    expect(setCookie).toMatch(
      /^berth_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=1209600$/,
    );
    expect(setCsrf).toMatch(/^berth_csrf=[0-9a-f]{64}; Path=\/; SameSite=Strict; Max-Age=1209600$/);
    const cookie = setCookie!.split(";")[0]!;
    const me = await fetch(`${base}/api/trpc/auth.me`, { headers: { cookie } });
    expect(
      ((await me.json()) as { result: { data: { username: string } } }).result.data.username,
    ).toBe("admin");
    // Cookie-authenticated mutations need the CSRF header (the dashboard copies the cookie).
    const json = { "content-type": "application/json" };
    const forged = await fetch(`${base}/api/trpc/auth.logout`, {
      method: "POST",
      headers: { ...json, cookie },
    });
    expect(forged.status).toBe(403);
    const out = await fetch(`${base}/api/trpc/auth.logout`, {
      method: "POST",
      headers: {
        ...json,
        cookie,
        "x-berth-csrf": setCsrf!.split(";")[0]!.slice("berth_csrf=".length),
      },
    });
    expect(out.status).toBe(200);
  });

  it("answers errors with the mapped status, data.kind and flattened zod errors", async () => {
    const bad = await fetch(`${base}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "", password: "x" }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as {
      error: {
        message: string;
        data: { kind: string; zodError: { fieldErrors: Record<string, string[]> } };
      };
    };
    expect(body.error.data.kind).toBe("invalid_input");
    expect(body.error.data.zodError.fieldErrors.username).toContain("a username is required");
    expect(body.error.message).toContain("a username is required");

    const anon = await fetch(`${base}/api/trpc/nodes.list`);
    expect(anon.status).toBe(401);
    const anonBody = (await anon.json()) as { error: { data: Record<string, unknown> } };
    expect(anonBody.error.data.kind).toBe("unauthenticated");
    expect(anonBody.error.data).not.toHaveProperty("stack");
  });
});
