/**
 * Test-only: the shared harness of the CLI command tests. A test builds a tiny tRPC router with
 * `testTrpc()` (errors carry their DomainError kind as berth-server's do; every call is recorded),
 * serves it (or any node:http server) on 127.0.0.1 with `useTestServer`, and runs the whole
 * program in-process with `runBerth(argv, env, overrides)`, which captures stdout and stderr.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { DomainError } from "@berth/core";
import { initTRPC, type AnyTRPCRouter } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterAll, beforeAll } from "vitest";
import { readEnv } from "../config";
import type { CliContext } from "../context";
import { runCli } from "../program";

export interface TrpcCall {
  path: string;
  input: unknown;
}

/**
 * A tRPC builder whose error shape carries `data.kind` (the DomainError kind, as berth-server's
 * formatter does) and a procedure `p` that records every call's path and raw input in `calls`.
 */
export function testTrpc() {
  const calls: TrpcCall[] = [];
  const t = initTRPC.create({
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      return {
        ...shape,
        data: { ...shape.data, kind: cause instanceof DomainError ? cause.kind : undefined },
      };
    },
  });
  const p = t.procedure.use(async ({ path, getRawInput, next }) => {
    calls.push({ path, input: await getRawInput() });
    return next();
  });
  return { t, p, calls };
}

/** A standalone HTTP server answering `router` under /api/trpc/, as berth-server does. */
export function trpcServer(router: AnyTRPCRouter): Server {
  return createHTTPServer({ basePath: "/api/trpc/", router });
}

/** Where the CLI under test points: the server's base URL and its own config directory. */
export interface CliTestEnv {
  readonly base: string;
  readonly dir: string;
}

/**
 * Registers beforeAll/afterAll hooks: `server` listens on 127.0.0.1 (a free port) and a temporary
 * config directory named after `tmpPrefix` is made; both are closed and removed afterwards.
 */
export function useTestServer(server: Server | (() => Server), tmpPrefix: string): CliTestEnv {
  let srv: Server | undefined;
  let base = "";
  let dir = "";
  beforeAll(async () => {
    srv = typeof server === "function" ? server() : server;
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  });
  afterAll(() => {
    srv?.closeAllConnections();
    srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get base() {
      return base;
    },
    get dir() {
      return dir;
    },
  };
}

export interface RunBerthOptions extends Partial<CliContext> {
  /** What stdin yields (instead of nothing). */
  stdinText?: string;
  /** The object the capturing `write` is added to (e.g. an EventEmitter with isTTY/columns). */
  stdoutBase?: object;
  /** Called after each stdout write with everything written so far. */
  onStdout?: (stdout: string) => void;
}

/**
 * Runs the whole CLI in-process against `env` (token `berth_x`, no variables of its own, clock
 * at 0, version 0.0.0-test); any CliContext field in `o` replaces the default.
 */
export async function runBerth(
  argv: string[],
  env: CliTestEnv,
  o: RunBerthOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const { stdinText, stdoutBase, onStdout, ...overrides } = o;
  const ctx: CliContext = {
    stdout: Object.assign(stdoutBase ?? {}, {
      write: (s: string) => {
        stdout += s;
        onStdout?.(stdout);
        return stdout;
      },
    }) as CliContext["stdout"],
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(stdinText === undefined ? [] : [stdinText]),
    env: readEnv({ BERTH_CONFIG_DIR: env.dir, BERTH_SERVER: env.base, BERTH_TOKEN: "berth_x" }),
    lookupEnv: () => undefined,
    now: () => 0,
    version: "0.0.0-test",
    ...overrides,
  };
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}
