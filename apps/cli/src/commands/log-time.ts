/**
 * `berth logs --since/--until` values, as docker takes them: an RFC 3339 instant (with or
 * without a zone; without one it is local time), a date (`2026-01-02`, local midnight), a Unix
 * timestamp (`1700000000.5`), or a duration before now (`10m`, `1h30m`, `90s`). The agent gets an
 * RFC 3339 instant with a zone, exact to the nanosecond where the input was.
 */
import { LogTimeSchema } from "@berth/core";
import { UsageError } from "../errors";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's duration syntax (`1h30m`, `1.5s`, `300ms`) in milliseconds, or null. */
export function parseDurationMs(s: string): number | null {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

export function parseLogTime(value: string, flag: string, now: Date): string {
  const v = value.trim();
  const bad = () =>
    new UsageError(
      `invalid argument ${JSON.stringify(value)} for "${flag}" flag: expected a timestamp ` +
        `(2026-01-02T15:04:05Z, 2026-01-02, 1700000000) or a duration like 10m or 1h30m`,
    );
  if (LogTimeSchema.safeParse(v).success) return v;
  const unix = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(v);
  if (unix) {
    const whole = new Date(Number(unix[1]) * 1000).toISOString().slice(0, 19);
    return `${whole}.${(unix[2] ?? "").padEnd(9, "0")}Z`;
  }
  const ms = parseDurationMs(v);
  if (ms !== null) return new Date(now.getTime() - ms).toISOString();
  // No zone: local time, as docker reads it.
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/.exec(
    v,
  );
  if (local) {
    const [y, mo, d, h, mi, s] = local.slice(1, 7).map((x) => Number(x ?? 0));
    const t = new Date(y!, mo! - 1, d!, h!, mi!, s!);
    if (Number.isNaN(t.getTime()) || t.getMonth() !== mo! - 1 || t.getDate() !== d!) throw bad();
    return `${t.toISOString().slice(0, 19)}.${(local[7] ?? "").padEnd(9, "0")}Z`;
  }
  throw bad();
}
