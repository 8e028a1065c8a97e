/**
 * `berth audit` and `berth token` in-process against a tiny server on 127.0.0.1 answering the
 * procedures with the real @berth/core input schemas, plus /api/audit/export (the server side
 * is tested in apps/web: audit.service.test.ts, auth-hardening.test.ts).
 */
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiTokenCreateInputSchema, ApiTokenRefSchema, AuditListInputSchema } from "@berth/core";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { runBerth, testTrpc, useTestServer } from "../testing/cli-harness";
import { parseExpiryDays } from "./tokens.command";

const row = (seq: number, over: Record<string, unknown> = {}) => ({
  id: seq,
  seq,
  at: Date.parse("2026-11-27T20:00:00Z") + seq * 1000,
  actorId: "u1",
  actorName: "alice",
  teamId: "t1",
  action: "containers.create",
  target: `web-${seq}`,
  params: {},
  result: "ok" as const,
  error: null,
  address: "127.0.0.1",
  hash: "ab".repeat(32),
  ...over,
});

function startServer() {
  const { t, p, calls } = testTrpc();
  const state = { broken: false, exportQuery: "" };
  const token = {
    id: "tok1",
    name: "ci",
    scopes: ["container.read"],
    createdAt: 0,
    expiresAt: 30 * 86_400_000,
    lastUsedAt: null,
    revokedAt: null,
  };
  const router = t.router({
    audit: t.router({
      list: p.input(AuditListInputSchema).query(({ input }) => {
        // Two pages of 2 when asked for small pages.
        const all = [row(4), row(3, { result: "denied", error: "forbidden" }), row(2), row(1)];
        const start = input.cursor ? all.findIndex((r) => r.id < input.cursor!) : 0;
        const size = Math.min(input.limit, 2);
        const items = all.slice(start, start + size);
        const last = items[items.length - 1];
        return { items, nextCursor: last && start + size < all.length ? last.id : null };
      }),
      verify: p.query(() =>
        state.broken
          ? {
              ok: false,
              checked: 2,
              anchor: { seq: 0, hash: "0".repeat(64) },
              head: { seq: 2, hash: "cd".repeat(32) },
              firstBad: { seq: 3, id: 3, reason: "changed", detail: "record 3 was modified" },
            }
          : {
              ok: true,
              checked: 4,
              anchor: { seq: 0, hash: "0".repeat(64) },
              head: { seq: 4, hash: "cd".repeat(32) },
            },
      ),
    }),
    auth: t.router({
      tokens: t.router({
        create: p
          .input(ApiTokenCreateInputSchema)
          .mutation(({ input }) => ({ ...token, name: input.name, token: "berth_secret" })),
        list: p.input(z.object({ all: z.boolean() })).query(() => [token]),
        revoke: p.input(ApiTokenRefSchema).mutation(({ input }) => {
          if (input.ref !== "ci" && input.ref !== "tok1")
            throw Object.assign(new Error(`no active token ${input.ref}`), {});
          return { ...token, revokedAt: 1 };
        }),
      }),
    }),
  });
  const trpc = createHTTPHandler({ router, basePath: "/api/trpc/" });
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/api/audit/export")) {
      state.exportQuery = req.url;
      res.writeHead(200, { "content-type": "text/csv" });
      res.end("seq,at\r\n1,2026-11-27T20:00:01.000Z\r\n");
      return;
    }
    trpc(req, res);
  });
  return { server, calls, state };
}

describe("berth audit", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-audit-");
  beforeEach(() => {
    srv.calls.length = 0;
    srv.state.broken = false;
  });

  it("ls pages through the server with the filters and prints a table", async () => {
    const now = Date.parse("2026-11-27T21:00:00Z");
    const r = await runBerth(
      ["audit", "ls", "--user", "alice", "--action", "containers.", "--since", "1h", "-n", "3"],
      env,
      { now: () => now },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+USER\s+ACTION\s+TARGET\s+RESULT\s+ADDRESS$/);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain("denied: forbidden");
    expect(srv.calls.map((c) => c.input)).toEqual([
      { user: "alice", action: "containers.", from: now - 3_600_000, limit: 3 },
      { user: "alice", action: "containers.", from: now - 3_600_000, limit: 1, cursor: 3 },
    ]);
  });

  it("ls --json prints the records", async () => {
    const r = await runBerth(["audit", "ls", "--json", "--result", "denied"], env);
    expect(JSON.parse(r.stdout)).toHaveLength(4);
    expect(srv.calls).toHaveLength(2);
    expect(srv.calls[0]!.input).toMatchObject({ result: "denied" });
    const bad = await runBerth(["audit", "ls", "--result", "nope"], env);
    expect(bad.code).toBe(2);
  });

  it("verify exits 0 when intact and 1 naming the seq when broken", async () => {
    const ok = await runBerth(["audit", "verify"], env);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^audit chain OK: 4 records verified, seq 1 to 4/);
    srv.state.broken = true;
    const bad = await runBerth(["audit", "verify"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      "audit chain BROKEN at seq 3: changed: record 3 was modified (2 records verified before it)",
    );
  });

  it("export streams the server's bytes to a file with the filters", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-cli-audit-export-"));
    try {
      const file = join(dir, "audit.csv");
      const r = await runBerth(
        ["audit", "export", "--format", "csv", "-o", file, "--action", "auth."],
        env,
      );
      expect(r.code).toBe(0);
      expect(readFileSync(file, "utf8")).toBe("seq,at\r\n1,2026-11-27T20:00:01.000Z\r\n");
      expect(srv.state.exportQuery).toBe("/api/audit/export?format=csv&action=auth.");
      const bad = await runBerth(["audit", "export", "--format", "xml"], env);
      expect(bad.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("berth token", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-token-");
  beforeEach(() => {
    srv.calls.length = 0;
  });

  it("create prints the secret once on stdout with scopes and expiry sent", async () => {
    const r = await runBerth(
      ["token", "create", "ci", "--scope", "container.read", "--expires", "30d"],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("berth_secret\n");
    expect(r.stderr).toContain("Save it now: it is not shown again.");
    expect(srv.calls[0]!.input).toEqual({
      name: "ci",
      scopes: ["container.read"],
      expiresInDays: 30,
    });
    const bad = await runBerth(["token", "create", "ci", "--scope", "root"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown permission "root"');
  });

  it("ls prints a table or JSON; revoke takes ids or names", async () => {
    const table = await runBerth(["token", "ls"], env);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+SCOPES\s+CREATED\s+LAST USED\s+EXPIRES\n/);
    expect(table.stdout).toContain("container.read");
    const json = await runBerth(["token", "ls", "--json"], env);
    expect(JSON.parse(json.stdout)).toMatchObject([{ id: "tok1", name: "ci" }]);
    const r = await runBerth(["token", "revoke", "ci"], env);
    expect(r).toMatchObject({ code: 0, stdout: "tok1\n" });
    const bad = await runBerth(["token", "revoke", "nope"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("no active token nope");
  });

  it("reads --expires as days, weeks or years", () => {
    expect(parseExpiryDays("30")).toBe(30);
    expect(parseExpiryDays("2w")).toBe(14);
    expect(parseExpiryDays("1y")).toBe(365);
    expect(() => parseExpiryDays("0d")).toThrow(/invalid --expires/);
    expect(() => parseExpiryDays("3h")).toThrow(/invalid --expires/);
  });
});
