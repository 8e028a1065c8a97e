/**
 * What every command needs, injected so the whole CLI runs in-process in tests: output streams,
 * the validated environment, the clock, and a way to open the API with the resolved connection.
 */
import { BerthApi } from "./api/berth-api";
import {
  configFilePath,
  loadConfigFile,
  resolveConnection,
  type CliEnv,
  type Connection,
  type ConnectionFlags,
} from "./config";
import { toCliError } from "./errors";

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface InputStream extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
}

export interface CliContext {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  env: CliEnv;
  /** Looks up a variable of the CLI's environment (for `run -e KEY`). */
  lookupEnv(name: string): string | undefined;
  now(): number;
  version: string;
  /** Reads a secret from the terminal without echo (login); null when stdin is not a terminal. */
  promptSecret?: (prompt: string) => Promise<string>;
  /** Calls `handler` on SIGINT (instead of dying) until the returned function is called. */
  onInterrupt?: (handler: () => void) => () => void;
  /** Reads a line from the terminal (login's username). */
  promptLine?: (prompt: string) => Promise<string>;
}

export function userAgent(ctx: CliContext): string {
  return `berth-cli/${ctx.version} node/${process.versions.node}`;
}

/** Resolves the connection (flags > env > saved login > default). */
export function connection(ctx: CliContext, flags: ConnectionFlags): Connection {
  return resolveConnection(flags, ctx.env, loadConfigFile(configFilePath(ctx.env)));
}

/** Opens the API for one command, maps its errors, and closes the keep-alive sockets after. */
export async function withApi<T>(
  ctx: CliContext,
  flags: ConnectionFlags,
  opts: { anonymous?: boolean },
  fn: (api: BerthApi, conn: Connection) => Promise<T>,
): Promise<T> {
  const resolved = connection(ctx, flags);
  const conn = opts.anonymous ? { ...resolved, token: null, tokenFrom: null } : resolved;
  const api = new BerthApi({
    server: conn.server,
    token: conn.token,
    userAgent: userAgent(ctx),
    team: conn.team ?? null,
  });
  try {
    return await fn(api, conn);
  } catch (e) {
    throw toCliError(e, {
      server: conn.server,
      hasToken: conn.token !== null,
      tokenFrom: conn.tokenFrom,
      anonymous: opts.anonymous === true,
    });
  } finally {
    api.close();
  }
}
