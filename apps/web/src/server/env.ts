/**
 * berth-server's configuration: read from the environment once, validated with zod.
 * The only module of the server that touches process.env (DESIGN §4).
 */
import { resolve } from "node:path";
import { z } from "zod";

const PortSchema = z.coerce.number().int().min(0).max(65_535);

export const ServerEnvSchema = z.object({
  BERTH_PORT: PortSchema.default(8080),
  BERTH_HOST: z.string().min(1).default("127.0.0.1"),
  BERTH_DATA_DIR: z.string().min(1).default("./.berth/data"),
  BERTH_ADMIN_USER: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.@-]*$/, "usernames use letters, digits and _ . @ -")
    .default("admin"),
  BERTH_ADMIN_PASSWORD: z
    .string()
    .min(8, "BERTH_ADMIN_PASSWORD must have at least 8 characters")
    .max(1024)
    .optional(),
  BERTH_BOOTSTRAP_JOIN_TOKEN: z.enum(["0", "1", ""]).default("0"),
  BERTH_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Audit rows older than this many days are archived under the data dir, then deleted. */
  BERTH_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  /** Bearer token that may scrape /metrics (administrators always may). */
  BERTH_METRICS_TOKEN: z
    .string()
    .min(16, "BERTH_METRICS_TOKEN needs at least 16 characters")
    .max(512)
    .optional(),
  /** "1": scrapes from loopback need no credential. */
  BERTH_METRICS_ALLOW_LOOPBACK: z.enum(["0", "1", ""]).default("0"),
  /** "1": budget webhooks may target loopback and private addresses (never link-local etc.). */
  BERTH_WEBHOOK_ALLOW_PRIVATE: z.enum(["0", "1", ""]).default("0"),
  /** "1": interactive exec sessions' output is recorded (asciicast) under `<data>/recordings`. */
  BERTH_RECORD_SESSIONS: z.enum(["0", "1", ""]).default("0"),
  /** Output bytes kept per recorded session (the rest is dropped behind a marker). */
  BERTH_RECORDING_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(4096)
    .max(1024 ** 3)
    .default(8 * 1024 * 1024),
  /** Recordings older than this many days are removed. */
  BERTH_RECORDING_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
});

export interface ServerConfig {
  port: number;
  host: string;
  /** Absolute. */
  dataDir: string;
  dbPath: string;
  adminUser: string;
  adminPassword: string | undefined;
  bootstrapJoinToken: boolean;
  /** Without a trailing slash. */
  publicUrl: string;
  /** Cookies get `Secure` when the public URL is https. */
  secureCookies: boolean;
  nodeEnv: "development" | "production" | "test";
  auditRetentionDays: number;
  /** /metrics: bearer token, and whether loopback clients need none. */
  metricsToken: string | undefined;
  metricsAllowLoopback: boolean;
  /** Budget webhooks may target loopback and private addresses. */
  webhookAllowPrivate: boolean;
  /** Terminal session recording. */
  recordSessions: boolean;
  recordingMaxBytes: number;
  recordingRetentionDays: number;
}

/** Parses an environment (process.env by default) into the server's config; throws a readable error. */
export function loadServerConfig(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): ServerConfig {
  const r = ServerEnvSchema.safeParse(env);
  if (!r.success)
    throw new Error(`invalid berth-server configuration:\n${z.prettifyError(r.error)}`);
  const e = r.data;
  const dataDir = resolve(cwd, e.BERTH_DATA_DIR);
  const urlHost = e.BERTH_HOST === "0.0.0.0" || e.BERTH_HOST === "::" ? "127.0.0.1" : e.BERTH_HOST;
  const publicUrl = (
    e.BERTH_PUBLIC_URL ??
    `http://${urlHost.includes(":") ? `[${urlHost}]` : urlHost}:${e.BERTH_PORT}`
  ).replace(/\/+$/, "");
  return {
    port: e.BERTH_PORT,
    host: e.BERTH_HOST,
    dataDir,
    dbPath: resolve(dataDir, "berth.db"),
    adminUser: e.BERTH_ADMIN_USER,
    adminPassword: e.BERTH_ADMIN_PASSWORD,
    bootstrapJoinToken: e.BERTH_BOOTSTRAP_JOIN_TOKEN === "1",
    publicUrl,
    secureCookies: publicUrl.startsWith("https:"),
    nodeEnv: e.NODE_ENV,
    auditRetentionDays: e.BERTH_AUDIT_RETENTION_DAYS,
    metricsToken: e.BERTH_METRICS_TOKEN,
    metricsAllowLoopback: e.BERTH_METRICS_ALLOW_LOOPBACK === "1",
    webhookAllowPrivate: e.BERTH_WEBHOOK_ALLOW_PRIVATE === "1",
    recordSessions: e.BERTH_RECORD_SESSIONS === "1",
    recordingMaxBytes: e.BERTH_RECORDING_MAX_BYTES,
    recordingRetentionDays: e.BERTH_RECORDING_RETENTION_DAYS,
  };
}
