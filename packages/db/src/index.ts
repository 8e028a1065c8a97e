export * from "./schema";
export { openDb, getDb, MIGRATIONS_DIR, type Db, type OpenDbOptions } from "./client";
export { eq, and, or, desc, asc, sql, inArray, like, isNull, gt, gte, lt, lte } from "drizzle-orm";
