/** One-line JSON logs. The agent's logger is built in main.ts; control code only sees `Logger`. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, extra?: Record<string, unknown>): void;
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

/** Writes `{"ts","level","msg",...extra}` lines to `write` (stderr in main) at or above `level`. */
export function createJsonLogger(
  level: LogLevel,
  write: (line: string) => void,
  base: Record<string, unknown> = {},
): Logger {
  const emit = (l: LogLevel, msg: string, extra?: Record<string, unknown>) => {
    if (RANK[l] < RANK[level]) return;
    let line: string;
    try {
      line = JSON.stringify(
        { ts: new Date().toISOString(), level: l, msg, ...base, ...extra },
        errorReplacer,
      );
    } catch {
      line = JSON.stringify({
        ts: new Date().toISOString(),
        level: l,
        msg,
        ...base,
        note: "unserialisable log fields",
      });
    }
    write(line + "\n");
  };
  return {
    debug: (m, e) => emit("debug", m, e),
    info: (m, e) => emit("info", m, e),
    warn: (m, e) => emit("warn", m, e),
    error: (m, e) => emit("error", m, e),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    for (const [k, v] of Object.entries(value)) out[k] = v;
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** A logger that drops everything (for tests that do not inspect logs). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A logger that keeps records in memory (for tests that assert on what was logged). */
export function memoryLogger(): Logger & {
  records: { level: LogLevel; msg: string; extra?: Record<string, unknown> }[];
} {
  const records: { level: LogLevel; msg: string; extra?: Record<string, unknown> }[] = [];
  const push = (level: LogLevel) => (msg: string, extra?: Record<string, unknown>) => {
    records.push(extra === undefined ? { level, msg } : { level, msg, extra });
  };
  return {
    records,
    debug: push("debug"),
    info: push("info"),
    warn: push("warn"),
    error: push("error"),
  };
}
