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
  };
}
