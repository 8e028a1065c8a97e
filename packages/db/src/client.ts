/**
 * The database connection: better-sqlite3 in WAL mode, migrations applied at open and failing
 * hard. One connection per process, kept on globalThis so every module copy shares it.
 */
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as schema from "./schema";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../drizzle");

export interface OpenDbOptions {
  /** A file path, or ":memory:". */
  path: string;
  /** Apply committed migrations (default true). */
  migrate?: boolean;
}

/** Opens a database and applies migrations; throws (and closes) if any migration fails. */
export function openDb({ path, migrate: runMigrations = true }: OpenDbOptions): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  try {
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    const db = drizzle(sqlite, { schema }) as Db;
    if (runMigrations) migrate(db, { migrationsFolder: MIGRATIONS_DIR });
    return db;
  } catch (e) {
    sqlite.close();
    throw new Error(`database ${path}: migration failed: ${(e as Error).message}`, { cause: e });
  }
}

const GLOBAL_KEY = Symbol.for("berth.db");
type GlobalWithDb = typeof globalThis & { [GLOBAL_KEY]?: Db };

/** The process-wide connection, opened once. */
export function getDb(path: string): Db {
  const g = globalThis as GlobalWithDb;
  g[GLOBAL_KEY] ??= openDb({ path });
  return g[GLOBAL_KEY];
}
