import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { eq } from "drizzle-orm";
import { openDb, MIGRATIONS_DIR } from "./client";
import { createTestDb } from "./test-helpers";
import { teams, users, containers, nodes } from "./schema";

describe("database", () => {
  it("applies the committed migrations and enforces constraints", () => {
    const db = createTestDb();
    db.insert(users).values({ id: "u1", username: "admin", passwordHash: "x" }).run();
    expect(() =>
      db.insert(users).values({ id: "u2", username: "admin", passwordHash: "y" }).run(),
    ).toThrow(/UNIQUE/);
    db.insert(teams).values({ id: "t1", name: "default" }).run();
    // foreign keys are on
    expect(() =>
      db
        .insert(containers)
        .values({
          id: "c".repeat(64),
          name: "x1",
          teamId: "t1",
          nodeId: "missing",
          image: "busybox",
          spec: {},
          state: "creating",
        })
        .run(),
    ).toThrow(/FOREIGN KEY/);
    db.insert(nodes).values({ id: "n1", name: "h1", credentialHash: "h" }).run();
    const row = db.select().from(nodes).where(eq(nodes.id, "n1")).get();
    expect(row?.status).toBe("offline");
    expect(row?.createdAt).toBeInstanceOf(Date);
  });

  it("opens a file database in WAL mode", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-db-"));
    try {
      const db = openDb({ path: join(dir, "sub", "berth.db") });
      expect(db.$client.pragma("journal_mode", { simple: true })).toBe("wal");
      db.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails hard when a migration fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-db-"));
    try {
      const migrations = join(dir, "drizzle");
      mkdirSync(migrations);
      cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
      // a migration that cannot apply: the table already exists
      const path = join(dir, "broken.db");
      const pre = new Database(path);
      pre.exec("CREATE TABLE users (x int)");
      pre.close();
      expect(() => openDb({ path })).toThrow(/migration failed/);
      // and a corrupted migration file is refused too
      writeFileSync(join(migrations, "0000_create_fleet_core_tables.sql"), "THIS IS NOT SQL;");
      const sqlite = new Database(":memory:");
      expect(() => migrate(drizzle(sqlite), { migrationsFolder: migrations })).toThrow();
      sqlite.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
