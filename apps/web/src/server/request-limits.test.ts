/**
 * Size limits on what a caller can make the server hold or store, over a real socket and a real
 * (in-memory) database: tRPC bodies over 1 MiB are refused with 413 (never stored), and audit
 * params are stored truncated (with a marker) while the hash chain still verifies.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { auditEvents, desc } from "@berth/db";
import { TRPC_MAX_BODY_BYTES } from "./http-app";
import { MAX_AUDIT_PARAMS_CHARS } from "./modules/audit/audit.service";
import { createCaller } from "./root";
import { contextFor, createFixture, type Fixture } from "./testing/fixtures";
import { startTestServer, type TestServer } from "./testing/test-server";

describe("request and audit size limits", () => {
  let f: Fixture;
  let server: TestServer;
  beforeEach(async () => {
    f = await createFixture();
    server = await startTestServer(f, "s", { notFoundBody: "next" });
  });
  afterEach(async () => {
    await f.close();
    await server.close();
  });

  it("a tRPC body over 1 MiB is refused with 413, never stored", async () => {
    const before = f.db.select().from(auditEvents).all().length;
    const res = await fetch(`http://${server.base}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "x", password: "A".repeat(TRPC_MAX_BODY_BYTES) }),
    });
    expect(res.status).toBe(413);
    for (const row of f.db.select().from(auditEvents).all().slice(before))
      expect(JSON.stringify(row.params ?? null).length).toBeLessThan(1000);
  });

  it("oversized audit params are stored truncated and the chain verifies", async () => {
    const c = createCaller(contextFor(f, {}));
    const junk = "A".repeat(200_000);
    // A denied (unauthenticated) mutation with arbitrary extra params is still audited.
    await expect(
      (c.users.create as (i: unknown) => Promise<unknown>)({ username: "x", junk }),
    ).rejects.toThrow();
    const row = f.db.select().from(auditEvents).orderBy(desc(auditEvents.id)).get()!;
    expect(row.result).toBe("denied");
    const stored = JSON.stringify(row.params);
    expect(stored.length).toBeLessThan(MAX_AUDIT_PARAMS_CHARS + 200);
    expect(row.params).toMatchObject({ truncated: true });
    expect((row.params as { length: number }).length).toBeGreaterThan(200_000);
    expect(f.services.audit.verify()).toMatchObject({ ok: true });
  });
});
