/** GET /api/audit/export over a real socket: formats, filters, team scoping, refusals audited. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addUser, createFixture, type Fixture } from "../../testing/fixtures";
import { startTestServer, type TestServer } from "../../testing/test-server";

describe("GET /api/audit/export", () => {
  let f: Fixture;
  let server: TestServer;
  let base: string;
  let admin: string;

  beforeEach(async () => {
    f = await createFixture();
    server = await startTestServer(f, "s");
    base = `http://${server.base}`;
    admin = f.services.auth.createApiToken(f.adminId, "export").token;
    const rec = (action: string, teamId: string | null, target: string) =>
      f.services.audit.record({
        actorId: f.adminId,
        actorName: "admin",
        teamId,
        action,
        target,
        params: { note: 'a "quoted", line\nbreak', password: "hunter2" },
        result: "ok",
        error: null,
        address: "127.0.0.1",
      });
    rec("containers.create", f.defaultTeamId, "web");
    rec("images.pull", "other-team", "busybox");
  });
  afterEach(async () => {
    await f.close();
    await server.close();
  });

  const get = (query: string, token = admin) =>
    fetch(`${base}/api/audit/export?${query}`, { headers: { authorization: `Bearer ${token}` } });

  it("streams JSON lines, oldest first, with the chain fields and secrets redacted", async () => {
    const res = await get("format=jsonl");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="berth-audit-/);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The token's first use and this export are recorded too (after the two rows above).
    expect(lines.map((l) => l.action)).toEqual([
      "containers.create",
      "images.pull",
      "auth.token.use",
      "audit.export",
    ]);
    expect(lines[0]).toMatchObject({
      seq: 1,
      target: "web",
      params: { note: 'a "quoted", line\nbreak', password: "[redacted]" },
      prevHash: "0".repeat(64),
    });
    expect(lines[1]!.prevHash).toBe(lines[0]!.hash);
  });

  it("writes CSV with a header and RFC 4180 quoting, filtered", async () => {
    const res = await get("format=csv&action=containers.");
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const text = await res.text();
    const [header, first, ...rest] = text.split("\r\n");
    expect(header).toBe(
      "seq,at,actorId,actorName,teamId,action,target,result,error,address,params,prevHash,hash",
    );
    expect(first).toContain(",containers.create,web,ok,,127.0.0.1,");
    // The params cell is quoted JSON; its line break stays inside the quotes.
    expect(first).toContain('"{""note"":""a \\""quoted\\"", line\\nbreak""');
    expect(rest.filter(Boolean)).toEqual([]);
  });

  it("gives non-administrators their team's rows only, and refuses the anonymous (audited)", async () => {
    const bob = await addUser(f, "bob", { role: "owner" });
    const token = f.services.auth.createApiToken(bob, "b").token;
    const mine = await (await get("format=jsonl", token)).text();
    const actions = mine
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { action: string }).action);
    expect(actions).not.toContain("images.pull");
    expect(actions).toContain("containers.create");

    const anon = await fetch(`${base}/api/audit/export?format=csv`);
    expect(anon.status).toBe(401);
    const bad = await get("format=xml");
    expect(bad.status).toBe(400);
    const rows = f.services.audit.list(
      { isAdmin: true, teamId: null },
      { action: "audit.export" },
    ).items;
    expect(rows.map((r) => [r.actorName, r.result])).toEqual([
      ["admin", "error"],
      [null, "denied"],
      ["bob", "ok"],
    ]);
    expect(f.services.audit.verify().ok).toBe(true);
  });
});
