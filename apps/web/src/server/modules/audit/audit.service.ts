/** The audit trail: one row per mutation attempt, denied ones included, secrets redacted. */
import { auditEvents, desc, type AuditEvent, type Db } from "@berth/db";

const SECRET_KEYS = /pass(word)?|token|secret|credential|cookie|authorization/i;

/** Container environments carry secrets by habit: keep the names, drop the values. */
function redactEnv(env: unknown): unknown {
  if (!Array.isArray(env)) return "[redacted]";
  return env.map((e) =>
    typeof e === "string" && e.includes("=")
      ? `${e.slice(0, e.indexOf("="))}=[redacted]`
      : "[redacted]",
  );
}

/**
 * Deep copy of `value` with every secret-looking field replaced by "[redacted]" and the values
 * of `env` lists (KEY=value) removed.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[truncated]";
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_KEYS.test(k)
          ? "[redacted]"
          : k === "env"
            ? redactEnv(v)
            : redactSecrets(v, depth + 1),
      ]),
    );
  }
  return value;
}

export interface AuditEntry {
  actorId: string | null;
  actorName: string | null;
  teamId: string | null;
  action: string;
  target: string | null;
  params: unknown;
  result: "ok" | "denied" | "error";
  error: string | null;
  address: string | null;
}

export class AuditService {
  constructor(private readonly db: Db) {}

  record(entry: AuditEntry): void {
    this.db
      .insert(auditEvents)
      .values({
        ...entry,
        at: new Date(),
        params: entry.params === undefined ? null : redactSecrets(entry.params),
      })
      .run();
  }

  recent(limit = 100): AuditEvent[] {
    return this.db.select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(limit).all();
  }
}
