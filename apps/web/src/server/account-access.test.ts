/**
 * What a scoped API token may not do, whatever its user may: read /metrics (over a real socket)
 * or manage its account (sign out everywhere, create or revoke tokens). Sessions and unscoped
 * tokens may.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerMetrics } from "./metrics";
import { appRouter, createCaller } from "./root";
import { contextFor, createFixture, trpcErrorOf, type Fixture } from "./testing/fixtures";
import { startTestServer, type TestServer } from "./testing/test-server";

describe("scoped API tokens and account management", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });
  const bearer = (token: string) =>
    createCaller(contextFor(f, { authorization: `Bearer ${token}` }));

  it("/metrics refuses an administrator's scoped token and accepts an unscoped one", async () => {
    const metrics = new ServerMetrics(f.gateway, Object.keys(appRouter._def.procedures));
    const srv: TestServer = await startTestServer(f, "testserverid2345678901234a", {
      metrics: { metrics, access: { allowLoopback: false } },
      notFoundBody: "not found",
    });
    try {
      const scrape = (token: string) =>
        fetch(`http://${srv.base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      const scoped = f.services.auth.createApiToken(f.adminId, {
        name: "ro",
        scopes: ["stats.read"],
      });
      const res = await scrape(scoped.token);
      expect(res.status).toBe(403);
      expect(JSON.stringify(await res.json())).toContain("unscoped API token");
      const full = f.services.auth.createApiToken(f.adminId, "all");
      expect((await scrape(full.token)).status).toBe(200);
    } finally {
      await srv.close();
    }
  });

  it("a scoped token may not create or revoke tokens or sign out everywhere", async () => {
    const scoped = f.services.auth.createApiToken(f.adminId, {
      name: "narrow",
      scopes: ["container.read"],
    });
    const other = f.services.auth.createApiToken(f.adminId, "other");
    const c = bearer(scoped.token);
    for (const p of [
      c.auth.tokens.create({ name: "same" }),
      c.auth.tokens.revoke({ ref: "other" }),
      c.auth.logoutEverywhere({ tokens: true }),
    ]) {
      const err = await trpcErrorOf(p);
      expect(err.code).toBe("FORBIDDEN");
      expect(err.message).toMatch(/session or an unscoped API token/);
    }
    // Nothing happened: the other token still works.
    expect(f.services.auth.userForApiToken(other.token)).not.toBeNull();
    // An unscoped token may.
    const made = await bearer(other.token).auth.tokens.create({ name: "made" });
    expect(made.token).toMatch(/^berth_/);
    expect(await bearer(other.token).auth.tokens.revoke({ ref: "narrow" })).toMatchObject({
      name: "narrow",
    });
  });
});
