import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { openDb, type Db } from "@berth/db";
import { createTestDb } from "@berth/db/test-helpers";
import { AuditService, redactSecrets, type AuditEntry } from "./audit.service";

const entry = (i: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  actorId: "u1",
  actorName: "alice",
  teamId: "t1",
  action: i % 2 ? "containers.create" : "images.pull",
  target: `thing-${i}`,
  params: { n: i, password: "hunter2" },
  result: "ok",
  error: null,
  address: "127.0.0.1",
  ...over,
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function fresh(now?: () => Date): { db: Db; audit: AuditService; key: Buffer; dir: string } {
  const db = createTestDb();
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), "berth-audit-test-"));
  const audit = new AuditService(db, { key: () => key, archiveDir: dir, ...(now ? { now } : {}) });
  cleanups.push(() => {
    audit.flushHead(); // and stops its timer
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, audit, key, dir };
}

describe("audit redaction", () => {
  it("redacts passwords, tokens, keys and environment values at any depth", () => {
    expect(
      redactSecrets({
        username: "admin",
        password: "hunter2",
        currentPassword: "x",
        nested: { apiToken: "berth_x", list: [{ secret: 1, keep: "yes" }] },
        spec: { image: "busybox", env: ["DB_PASSWORD=hunter2", "MODE=prod"] },
        registry: { auth: "dXNlcjpwYXNz", privateKey: "-----BEGIN" },
        note: "used berth_AAAAAAAAAAAAAAAAAAAAAAAAAAAA to sign in",
        tokenId: "abc",
        tokenName: "ci",
      }),
    ).toEqual({
      username: "admin",
      password: "[redacted]",
      currentPassword: "[redacted]",
      nested: { apiToken: "[redacted]", list: [{ secret: "[redacted]", keep: "yes" }] },
      spec: { image: "busybox", env: ["DB_PASSWORD=[redacted]", "MODE=[redacted]"] },
      registry: { auth: "[redacted]", privateKey: "[redacted]" },
      note: "used berth_[redacted] to sign in",
      // Ids and names of secrets are not secrets.
      tokenId: "abc",
      tokenName: "ci",
    });
  });
});

describe("audit chain", () => {
  it("stores redacted rows chained by seq, prev_hash and hash", () => {
    const { audit } = fresh();
    audit.record(entry(1));
    audit.record(entry(2));
    const [second, first] = audit.recent();
    expect(first).toMatchObject({ seq: 1, params: { n: 1, password: "[redacted]" } });
    expect(first!.prevHash).toBe("0".repeat(64));
    expect(second).toMatchObject({ seq: 2, prevHash: first!.hash });
    expect(second!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(audit.verify()).toMatchObject({ ok: true, checked: 2, head: { seq: 2 } });
  });

  it("detects a row changed by direct SQL", () => {
    const { db, audit } = fresh();
    for (let i = 1; i <= 5; i++) audit.record(entry(i));
    db.$client
      .prepare(
        `UPDATE audit_events SET params = '{"n":3,"password":"[redacted]","x":1}' WHERE seq = 3`,
      )
      .run();
    expect(audit.verify()).toMatchObject({
      ok: false,
      checked: 2,
      firstBad: { seq: 3, reason: "changed" },
    });
  });

  it("detects a changed result on the newest row", () => {
    const { db, audit } = fresh();
    for (let i = 1; i <= 3; i++) audit.record(entry(i, { result: "denied" }));
    db.$client.prepare(`UPDATE audit_events SET result = 'ok' WHERE seq = 3`).run();
    expect(audit.verify().firstBad).toMatchObject({ seq: 3, reason: "changed" });
  });

  it("detects a removed row, in the middle and at the end", () => {
    const { db, audit } = fresh();
    for (let i = 1; i <= 5; i++) audit.record(entry(i));
    db.$client.prepare(`DELETE FROM audit_events WHERE seq = 5`).run();
    expect(audit.verify().firstBad).toMatchObject({ seq: 5, reason: "removed" });
    db.$client.prepare(`DELETE FROM audit_events WHERE seq = 2`).run();
    expect(audit.verify()).toMatchObject({
      ok: false,
      checked: 1,
      firstBad: { seq: 2, reason: "removed" },
    });
  });

  it("detects rows inserted around the server", () => {
    const { db, audit, key } = fresh();
    for (let i = 1; i <= 3; i++) audit.record(entry(i));
    // Without seq/hash: not part of the chain.
    db.$client
      .prepare(
        `INSERT INTO audit_events (at, action, result, actor_name) VALUES (?, 'auth.login', 'ok', 'mallory')`,
      )
      .run(Date.now());
    expect(audit.verify().firstBad).toMatchObject({ reason: "inserted", seq: null });
    db.$client.prepare(`DELETE FROM audit_events WHERE seq IS NULL`).run();
    expect(audit.verify().ok).toBe(true);

    // A forged row that links to the head, sealed without the chain key: its seal fails and
    // this server never wrote seq 4.
    const head = audit.recent(1)[0]!;
    db.$client
      .prepare(
        `INSERT INTO audit_events (at, action, result, actor_name, seq, prev_hash, hash) VALUES (?, 'users.create', 'ok', 'mallory', 4, ?, ?)`,
      )
      .run(Date.now(), head.hash, "ab".repeat(32));
    expect(audit.verify().firstBad).toMatchObject({ seq: 4, reason: "inserted" });
    // A restarted server never wrote seq 4 either, but cannot tell an appended forgery from an
    // edited newest row: it still reports the break at seq 4.
    const reopened = new AuditService(db, { key: () => key });
    expect(reopened.verify()).toMatchObject({ ok: false, checked: 3, firstBad: { seq: 4 } });
  });

  it("a restarted server still sees the newest rows removed while it was down", () => {
    const { db, audit, key, dir } = fresh();
    for (let i = 1; i <= 3; i++) audit.record(entry(i));
    audit.flushHead();
    db.$client.prepare(`DELETE FROM audit_events WHERE seq = 3`).run();
    const restarted = new AuditService(db, { key: () => key, archiveDir: dir });
    expect(restarted.verify()).toMatchObject({
      ok: false,
      checked: 2,
      firstBad: { seq: 3, reason: "removed" },
    });
    // Emptying the table and writing unchained rows is not taken for a pre-chain database.
    db.$client.prepare(`DELETE FROM audit_events`).run();
    db.$client
      .prepare(`INSERT INTO audit_events (at, action, result) VALUES (?, 'auth.login', 'ok')`)
      .run(Date.now());
    const again = new AuditService(db, { key: () => key, archiveDir: dir });
    expect(again.verify()).toMatchObject({ ok: false, firstBad: { reason: "inserted" } });
    expect(again.recent()[0]!.seq).toBeNull();
  });

  it("keeps one chain under concurrent writers in separate processes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-audit-conc-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "berth.db");
    const key = randomBytes(32);
    const db = openDb({ path });
    cleanups.push(() => db.$client.close());
    const perWorker = 1000;
    const workers = 4;
    const worker = fileURLToPath(new URL("./audit-writer.test-worker.ts", import.meta.url));
    // Every writer starts on one signal, sent once all of them have opened the database: their
    // (slow) TypeScript start-ups vary too much on a loaded machine for a fixed start time.
    const children = Array.from({ length: workers }, (_, w) =>
      spawn(
        process.execPath,
        ["--import", "tsx", worker, path, key.toString("base64"), String(perWorker), String(w)],
        { stdio: ["ignore", "inherit", "inherit", "ipc"] },
      ),
    );
    cleanups.unshift(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
    });
    const ready = children.map(
      (child, w) =>
        new Promise<void>((resolve, reject) => {
          child.once("message", (m) =>
            m === "ready" ? resolve() : reject(new Error(`writer ${w} sent ${String(m)}`)),
          );
          child.once("error", reject);
          child.once("exit", (code) => reject(new Error(`writer ${w} exited ${code} unready`)));
        }),
    );
    const runs = children.map(
      (child, w) =>
        new Promise<void>((resolve, reject) => {
          child.on("error", reject);
          child.on("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}`)),
          );
        }),
    );
    for (const r of runs) r.catch(() => undefined); // awaited below, after the start signal
    await Promise.all(ready);
    for (const c of children) c.send("go");
    // The main thread writes too.
    const audit = new AuditService(db, { key: () => key });
    for (let i = 0; i < 50; i++) audit.record(entry(i, { actorName: "main" }));
    await Promise.all(runs);
    // The writers really interleaved (the test would prove nothing otherwise).
    const writers = db.$client
      .prepare(`SELECT actor_name AS a FROM audit_events ORDER BY seq`)
      .all() as { a: string }[];
    const switches = writers.filter((r, i) => i > 0 && r.a !== writers[i - 1]!.a).length;
    expect(switches).toBeGreaterThan(workers * 2);
    const report = audit.verify();
    expect(report).toMatchObject({ ok: true, checked: workers * perWorker + 50 });
    expect(report.head?.seq).toBe(workers * perWorker + 50);
  }, 60_000);

  it("seals rows written before the chain existed, once", () => {
    const db = createTestDb();
    cleanups.push(() => db.$client.close());
    for (let i = 0; i < 3; i++)
      db.$client
        .prepare(`INSERT INTO audit_events (at, action, result) VALUES (?, 'legacy.action', 'ok')`)
        .run(Date.now());
    const key = randomBytes(32);
    const audit = new AuditService(db, { key: () => key });
    audit.record(entry(1));
    expect(audit.verify()).toMatchObject({ ok: true, checked: 4 });
  });
});

describe("audit listing", () => {
  it("filters by user, action prefix, target, result and time; pages by cursor; scopes to the team", () => {
    let t = Date.parse("2026-01-01T00:00:00Z");
    const { audit } = fresh(() => new Date(t));
    for (let i = 1; i <= 10; i++) {
      t += 60_000;
      audit.record(
        entry(i, {
          actorName: i <= 5 ? "alice" : "bob",
          teamId: i % 3 === 0 ? "t2" : "t1",
          result: i === 7 ? "denied" : "ok",
        }),
      );
    }
    const admin = { isAdmin: true, teamId: null };
    expect(audit.list(admin, { user: "bob" }).items).toHaveLength(5);
    expect(audit.list(admin, { action: "images." }).items.map((r) => r.seq)).toEqual([
      10, 8, 6, 4, 2,
    ]);
    expect(audit.list(admin, { target: "thing-1" }).items.map((r) => r.seq)).toEqual([10, 1]);
    expect(audit.list(admin, { result: "denied" }).items.map((r) => r.seq)).toEqual([7]);
    const from = Date.parse("2026-01-01T00:03:00Z");
    const to = Date.parse("2026-01-01T00:05:00Z");
    expect(audit.list(admin, { from, to }).items.map((r) => r.seq)).toEqual([5, 4, 3]);
    expect(audit.list(admin, { team: "t2" }).items.map((r) => r.seq)).toEqual([9, 6, 3]);
    // Non-administrators see their own team's rows only, whatever they ask for.
    expect(
      audit.list({ isAdmin: false, teamId: "t2" }, { team: "t1" }).items.map((r) => r.seq),
    ).toEqual([]);
    expect(audit.list({ isAdmin: false, teamId: "t2" }).items.map((r) => r.seq)).toEqual([9, 6, 3]);
    const p1 = audit.list(admin, { limit: 4 });
    expect(p1.items.map((r) => r.seq)).toEqual([10, 9, 8, 7]);
    const p2 = audit.list(admin, { limit: 4, cursor: p1.nextCursor });
    expect(p2.items.map((r) => r.seq)).toEqual([6, 5, 4, 3]);
    const p3 = audit.list(admin, { limit: 4, cursor: p2.nextCursor });
    expect(p3).toMatchObject({ nextCursor: null });
    expect(p3.items.map((r) => r.seq)).toEqual([2, 1]);
  });
});

describe("audit retention", () => {
  it("archives old rows with the anchor, deletes them, and the rest still verifies", async () => {
    let t = Date.parse("2025-01-01T00:00:00Z");
    const { db, audit } = fresh(() => new Date(t));
    for (let i = 1; i <= 6; i++) {
      audit.record(entry(i));
      t += 24 * 3600 * 1000;
    }
    // Now: 2025-01-07. Keep 3 days: rows 1-3 (Jan 1-3) go.
    const out = await audit.applyRetention(3);
    expect(out).toMatchObject({ archived: 3, anchor: { seq: 3 } });
    expect(readdirSync(join(out.archive!, "..")).filter((f) => f.endsWith(".gz"))).toEqual([
      "audit-000000001-000000003.jsonl.gz",
    ]);
    expect(audit.recent().map((r) => r.seq)).toEqual([6, 5, 4]);
    expect(audit.verify()).toMatchObject({ ok: true, checked: 3, anchor: { seq: 3 } });
    expect(audit.verifyArchive(out.archive!)).toMatchObject({ ok: true, checked: 3 });
    audit.record(entry(7));
    expect(audit.verify()).toMatchObject({ ok: true, checked: 4, head: { seq: 7 } });
    // A second run with nothing old enough does nothing.
    expect(await audit.applyRetention(3)).toMatchObject({ archived: 0, archive: null });

    // The anchor cannot be moved to hide deletions.
    db.$client.prepare(`DELETE FROM audit_events WHERE seq = 4`).run();
    db.$client.prepare(`UPDATE audit_anchors SET seq = 4`).run();
    expect(audit.verify().firstBad).toMatchObject({ reason: "changed" });
  });

  it("refuses to archive a broken chain", async () => {
    let t = Date.parse("2025-01-01T00:00:00Z");
    const { db, audit } = fresh(() => new Date(t));
    for (let i = 1; i <= 3; i++) audit.record(entry(i));
    t += 30 * 24 * 3600 * 1000;
    db.$client.prepare(`UPDATE audit_events SET actor_name = 'eve' WHERE seq = 1`).run();
    await expect(audit.applyRetention(1)).rejects.toThrow(/broken at seq 1/);
  });
});
