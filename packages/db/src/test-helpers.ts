/** A fresh, migrated in-memory database for a test. */
import { openDb, type Db } from "./client";

export function createTestDb(): Db {
  return openDb({ path: ":memory:" });
}
