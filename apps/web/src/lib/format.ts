/** Display helpers for the dashboard. Pure: every function takes "now" explicitly where time matters. */

const UNITS: [limit: number, divisor: number, unit: string][] = [
  [60, 1, "s"],
  [3600, 60, "min"],
  [86_400, 3600, "h"],
  [30 * 86_400, 86_400, "d"],
  [365 * 86_400, 30 * 86_400, "mo"],
  [Infinity, 365 * 86_400, "y"],
];

/** "just now", "12 s ago", "3 min ago", "in 5 min"; "never" for null. */
export function formatRelative(epochMs: number | null | undefined, now: number): string {
  if (epochMs === null || epochMs === undefined) return "never";
  const deltaS = Math.round((now - epochMs) / 1000);
  const abs = Math.abs(deltaS);
  if (abs < 2) return "just now";
  for (const [limit, divisor, unit] of UNITS) {
    if (abs < limit) {
      const n = Math.floor(abs / divisor);
      return deltaS >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
    }
  }
  return "long ago";
}

/** "1 h 2 min", "45 s": the length of a span of time. */
export function formatDuration(ms: number): string {
  const totalS = Math.max(0, Math.round(ms / 1000));
  if (totalS < 60) return `${totalS} s`;
  const d = Math.floor(totalS / 86_400);
  const h = Math.floor((totalS % 86_400) / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  const parts =
    d > 0
      ? [`${d} d`, h ? `${h} h` : ""]
      : h > 0
        ? [`${h} h`, m ? `${m} min` : ""]
        : [`${m} min`, s ? `${s} s` : ""];
  return parts.filter(Boolean).join(" ");
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Local date and time to the second, `2025-11-27 18:43:30`; "—" for null. */
export function formatDateTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined) return "—";
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * A log line's RFC 3339 timestamp (nanoseconds, as conmon writes it) shortened to UTC
 * `HH:MM:SS.mmm`; the input is returned unchanged when it is not such a timestamp.
 */
export function formatLogTimestamp(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return ts;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[4]}`);
  if (Number.isNaN(ms)) return ts;
  const d = new Date(ms);
  const frac = (m[3] ?? "").padEnd(3, "0").slice(0, 3);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${frac}`;
}

/** The command column: the argv joined, or the image default. */
export function formatCommand(command: readonly string[] | null | undefined): string {
  if (!command || command.length === 0) return "(image default)";
  return command.map((a) => (a === "" || /[\s"'\\]/.test(a) ? JSON.stringify(a) : a)).join(" ");
}

/** "3 / 5" style counters. */
export function formatRatio(part: number, whole: number): string {
  return `${part} / ${whole}`;
}
