/**
 * The CLI's configuration: where berth-server is and which API token to send.
 *
 * This is the only module that reads `process.env`. Precedence, highest first:
 *   server: `--server` flag > `BERTH_SERVER` > the saved login's server > http://127.0.0.1:8080
 *   token:  `--token` flag  > `BERTH_TOKEN`  > the token saved by `berth login` for that server
 * The saved login lives in `$BERTH_CONFIG_DIR/config.json` (default `~/.config/berth/config.json`),
 * written with mode 0600 in a 0700 directory.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { CliError } from "./errors";

export const DEFAULT_SERVER = "http://127.0.0.1:8080";

/** An http(s) base URL, normalised without a trailing slash. */
function isHttpUrl(u: string): boolean {
  try {
    return /^https?:$/.test(new URL(u).protocol);
  } catch {
    return false;
  }
}

export const ServerUrlSchema = z
  .string()
  .trim()
  .refine(isHttpUrl, "the server must be an http:// or https:// URL such as http://127.0.0.1:8080")
  .transform((u) => {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  });

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

export const CliEnvSchema = z.object({
  BERTH_SERVER: z.preprocess(emptyToUndefined, ServerUrlSchema.optional()),
  BERTH_TOKEN: z.preprocess(emptyToUndefined, z.string().trim().min(1).optional()),
  /** The team to act in (id or name), as the global `--team`. */
  BERTH_TEAM: z.preprocess(emptyToUndefined, z.string().trim().min(1).max(128).optional()),
  BERTH_CONFIG_DIR: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
  NO_COLOR: z.preprocess(emptyToUndefined, z.string().optional()),
});
export type CliEnv = z.infer<typeof CliEnvSchema>;

/** Reads and validates the environment once. */
export function readEnv(env: Record<string, string | undefined> = process.env): CliEnv {
  const parsed = CliEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(`invalid environment variable ${issue.path.join(".")}: ${issue.message}`, {
      exitCode: 2,
    });
  }
  return parsed.data;
}

export const SavedAuthSchema = z.object({
  token: z.string().min(1),
  username: z.string().min(1),
  savedAt: z.number().int(),
});

export const ConfigFileSchema = z.object({
  version: z.literal(1).default(1),
  /** The server of the last `berth login`. */
  current: ServerUrlSchema.optional(),
  /** API tokens by server URL. */
  auths: z.record(z.string(), SavedAuthSchema).default({}),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export function configDir(env: CliEnv): string {
  return env.BERTH_CONFIG_DIR ?? join(homedir(), ".config", "berth");
}

export function configFilePath(env: CliEnv): string {
  return join(configDir(env), "config.json");
}

/** Loads the saved configuration; a missing file is an empty configuration. */
export function loadConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, auths: {} };
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${path} is not valid JSON: ${(e as Error).message}`, {
      hint: "fix it, or delete it and run `berth login` again",
    });
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new CliError(`${path} is not a berth configuration: ${parsed.error.issues[0]!.message}`, {
      hint: "delete it and run `berth login` again",
    });
  }
  return parsed.data;
}

/** Writes the configuration atomically with mode 0600 (the file holds API tokens). */
export function saveConfigFile(path: string, config: ConfigFile): void {
  const valid = ConfigFileSchema.parse(config);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(valid, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export interface ConnectionFlags {
  server?: string;
  token?: string;
  team?: string;
}

export interface Connection {
  server: string;
  token: string | null;
  /** Where each value came from, for messages. */
  serverFrom: "flag" | "env" | "file" | "default";
  tokenFrom: "flag" | "env" | "file" | null;
  /** The team to act in (`--team` > `BERTH_TEAM`); absent: the user's default team. */
  team?: string;
}

function parseServer(value: string, from: string): string {
  const parsed = ServerUrlSchema.safeParse(value);
  if (!parsed.success)
    throw new CliError(
      `invalid server ${JSON.stringify(value)} (${from}): ${parsed.error.issues[0]!.message}`,
      { exitCode: 2 },
    );
  return parsed.data;
}

/** Applies the precedence rules: flags > environment > saved login > defaults. */
export function resolveConnection(
  flags: ConnectionFlags,
  env: CliEnv,
  file: ConfigFile,
): Connection {
  let server: string;
  let serverFrom: Connection["serverFrom"];
  if (flags.server !== undefined && flags.server !== "") {
    server = parseServer(flags.server, "--server");
    serverFrom = "flag";
  } else if (env.BERTH_SERVER !== undefined) {
    server = env.BERTH_SERVER;
    serverFrom = "env";
  } else if (file.current !== undefined) {
    server = file.current;
    serverFrom = "file";
  } else {
    server = DEFAULT_SERVER;
    serverFrom = "default";
  }

  let token: string | null = null;
  let tokenFrom: Connection["tokenFrom"] = null;
  if (flags.token !== undefined && flags.token !== "") {
    token = flags.token;
    tokenFrom = "flag";
  } else if (env.BERTH_TOKEN !== undefined) {
    token = env.BERTH_TOKEN;
    tokenFrom = "env";
  } else {
    const saved = file.auths[server];
    if (saved) {
      token = saved.token;
      tokenFrom = "file";
    }
  }
  const team = flags.team?.trim() || env.BERTH_TEAM;
  return { server, token, serverFrom, tokenFrom, ...(team ? { team } : {}) };
}

/** A variable of the CLI's own environment (docker's `run -e KEY` copies it into the container). */
export function lookupEnv(name: string): string | undefined {
  return process.env[name];
}
