/**
 * Tests of the CLI client at the HTTP level: the whole `berth` program runs in-process against a
 * tiny tRPC server started here on 127.0.0.1 (@trpc/server's standalone adapter, plain JSON,
 * SSE subscriptions) that implements only the procedures the CLI calls, with the error shape
 * berth-server uses (docs/API.md: `data.kind`, flattened `data.zodError`). It tests the CLI's
 * requests, output and error mapping; it does not stand in for berth-server anywhere else.
 */
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  CliLoginInputSchema,
  ContainerLogsInputSchema,
  CreateJoinTokenInputSchema,
  DomainError,
  ListContainersInputSchema,
  RunContainerInputSchema,
  RemoveContainerInputSchema,
  StopContainerInputSchema,
  WaitContainerInputSchema,
  type ErrorKind,
  type RunContainerInput,
} from "@berth/core";
import { initTRPC, TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { readEnv } from "./config";
import { type CliContext } from "./context";
import { runCli } from "./program";

const TOKEN = "berth_test_token_1";
const ID = "a".repeat(64);
const NOW = 1_700_000_000_000;

const CODES: Record<ErrorKind, TRPCError["code"]> = {
  invalid_input: "BAD_REQUEST",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  invalid_state: "PRECONDITION_FAILED",
  unauthenticated: "UNAUTHORIZED",
  forbidden: "FORBIDDEN",
  unavailable: "SERVICE_UNAVAILABLE",
  timeout: "TIMEOUT",
  runtime: "UNPROCESSABLE_CONTENT",
  internal: "INTERNAL_SERVER_ERROR",
};
const fail = (kind: ErrorKind, message: string) =>
  new TRPCError({ code: CODES[kind], message, cause: new DomainError(kind, message) });

interface Recorded {
  path: string;
  authorization: string | undefined;
  input: unknown;
}

function view(over: Record<string, unknown> = {}) {
  return {
    id: ID,
    shortId: ID.slice(0, 12),
    name: "quirky_turing",
    image: "busybox",
    command: ["sh", "-c", "echo hello; echo warn >&2; exit 3"],
    state: "running",
    exitCode: null,
    oomKilled: false,
    error: null,
    nodeId: "n1",
    nodeName: "node-1",
    teamId: "t1",
    createdBy: "u1",
    createdAt: NOW - 10_000,
    startedAt: NOW - 3_000,
    finishedAt: null,
    autoRemove: false,
    limits: {},
    ...over,
  };
}

function startTestServer() {
  const calls: Recorded[] = [];
  /** Containers the server already removed (--rm of a container that exited at once). */
  const removed = new Set<string>();
  const SLEEPER = "c".repeat(64);
  /** Resolves the sleeper's log stream and wait once `containers.stop` is called for it. */
  let stopSleeper: () => void = () => {};
  let sleeperStopped = new Promise<void>((r) => (stopSleeper = r));
  const resetSleeper = () => {
    sleeperStopped = new Promise<void>((r) => (stopSleeper = r));
  };
  const assertExists = (ref: string) => {
    if (removed.has(ref)) throw fail("not_found", `no such container: ${ref}`);
  };
  const t = initTRPC.context<{ authorization: string | undefined }>().create({
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      return {
        ...shape,
        data: {
          ...shape.data,
          kind: cause instanceof DomainError ? cause.kind : undefined,
          zodError: cause instanceof z.ZodError ? z.flattenError(cause) : null,
        },
      };
    },
  });
  const record = t.middleware(async ({ ctx, path, getRawInput, next }) => {
    calls.push({ path, authorization: ctx.authorization, input: await getRawInput() });
    return next();
  });
  const open = t.procedure.use(record);
  const authed = open.use(({ ctx, next }) => {
    if (ctx.authorization !== `Bearer ${TOKEN}`) throw fail("unauthenticated", "sign in first");
    return next();
  });
  const router = t.router({
    auth: t.router({
      cliLogin: open.input(CliLoginInputSchema).mutation(({ input }) => {
        if (input.username !== "admin" || input.password !== "s3cret pw")
          throw fail("unauthenticated", "wrong username or password");
        return { token: TOKEN, user: { id: "u1", username: "admin", isAdmin: true } };
      }),
    }),
    nodes: t.router({
      list: authed.query(() => [
        {
          id: "n1",
          name: "node-1",
          status: "online" as const,
          facts: {
            hostname: "host-a",
            kernel: "6.1.0",
            os: "Debian 12",
            arch: "x64",
            cpus: 2,
            memoryBytes: 4 * 1024 ** 3,
            cgroup: { version: 1 as const, mode: "hybrid" as const, parent: "/berth" },
            runtime: { name: "runc", version: "1.1.5", path: "/usr/sbin/runc" },
            monitor: { name: "conmon", version: "2.1.6" },
            agentVersion: "0.1.0",
          },
          lastSeenAt: NOW - 2_000,
          createdAt: NOW - 100_000,
          containers: { running: 1, total: 3 },
        },
      ]),
    }),
    images: t.router({
      list: authed
        .input(
          z.object({
            node: z
              .string()
              .regex(/^[a-z0-9-]+$/, "node names are lowercase")
              .optional(),
          }),
        )
        .query(() => [
          {
            nodeId: "n1",
            nodeName: "node-1",
            ref: "busybox:latest",
            digest: `sha256:0123456789ab${"0".repeat(52)}`,
            size: 4_260_000,
            createdAt: NOW - 120_000,
          },
          {
            nodeId: "n1",
            nodeName: "node-1",
            ref: "registry:5000/team/app:v1",
            digest: `sha256:fedcba987654${"0".repeat(52)}`,
            size: 1_234_567_890,
            createdAt: NOW - 120_000,
          },
        ]),
    }),
    joinTokens: t.router({
      create: authed.input(CreateJoinTokenInputSchema).mutation(({ input }) => ({
        id: "j1",
        token: "berth_join_abc",
        expiresAt: NOW + input.ttlSeconds * 1000,
        command: "berth-agent --server http://127.0.0.1 --join-token berth_join_abc",
      })),
    }),
    containers: t.router({
      run: authed.input(RunContainerInputSchema).mutation(({ input }) => {
        if (input.spec.image === "missing") throw fail("runtime", "pull access denied for missing");
        if (input.name === "sleeper")
          return view({ id: SLEEPER, shortId: SLEEPER.slice(0, 12), name: "sleeper" });
        if (input.name === "vanished") {
          removed.add(ID);
          return view({
            name: input.name,
            state: "exited",
            exitCode: 7,
            finishedAt: NOW,
            autoRemove: true,
          });
        }
        return view({ name: input.name ?? "quirky_turing", autoRemove: input.autoRemove });
      }),
      list: authed.input(ListContainersInputSchema).query(({ input }) =>
        input.all
          ? [
              view(),
              view({
                id: "b".repeat(64),
                shortId: "bbbbbbbbbbbb",
                name: "old",
                state: "exited",
                exitCode: 0,
                finishedAt: NOW - 5_000,
              }),
            ]
          : [view()],
      ),
      get: authed.input(z.object({ ref: z.string() })).query(({ input }) => {
        if (!ID.startsWith(input.ref) && input.ref !== "quirky_turing")
          throw fail("not_found", `no such container: ${input.ref}`);
        return view();
      }),
      stop: authed.input(StopContainerInputSchema).mutation(({ input }) => {
        if (input.ref === SLEEPER) {
          stopSleeper();
          return view({ id: SLEEPER, state: "exited", exitCode: 143 });
        }
        if (!ID.startsWith(input.ref)) throw fail("not_found", `no such container: ${input.ref}`);
        return view({ state: "exited", exitCode: 143 });
      }),
      remove: authed.input(RemoveContainerInputSchema).mutation(({ input }) => {
        assertExists(input.ref);
        return { id: ID, removed: true as const };
      }),
      wait: authed.input(WaitContainerInputSchema).mutation(async ({ input }) => {
        if (input.ref === SLEEPER) {
          await sleeperStopped;
          return { exitCode: 143, state: "exited" as const };
        }
        assertExists(input.ref);
        return { exitCode: 3, state: "exited" as const };
      }),
      logs: authed.input(ContainerLogsInputSchema).subscription(async function* ({ input }) {
        assertExists(input.ref);
        if (input.ref === "offline") throw fail("unavailable", "node node-1 is offline");
        if (input.ref === SLEEPER) {
          yield { lines: [{ ts: "t", stream: "stdout" as const, line: "zzz", full: true }] };
          await sleeperStopped;
          return;
        }
        yield {
          lines: [
            {
              ts: "2024-01-01T00:00:00.000000001Z",
              stream: "stdout" as const,
              line: "hello",
              full: true,
            },
            {
              ts: "2024-01-01T00:00:00.000000002Z",
              stream: "stderr" as const,
              line: "warn",
              full: true,
            },
          ],
        };
        if (input.follow)
          yield {
            lines: [
              {
                ts: "2024-01-01T00:00:01.000000000Z",
                stream: "stdout" as const,
                line: "bye",
                full: true,
              },
            ],
          };
      }),
    }),
  });
  const server = createHTTPServer({
    basePath: "/api/trpc/",
    router,
    createContext: ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return { server, calls, removed, resetSleeper };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("berth CLI against a tRPC server on 127.0.0.1", () => {
  let srv: ReturnType<typeof startTestServer>;
  let base: string;
  let dir: string;

  beforeAll(async () => {
    srv = startTestServer();
    srv.server.listen(0, "127.0.0.1");
    await once(srv.server, "listening");
    base = `http://127.0.0.1:${(srv.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    srv.server.closeAllConnections();
    srv.server.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-cli-test-"));
    srv.calls.length = 0;
    srv.removed.clear();
    srv.resetSleeper();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function berth(
    argv: string[],
    opts: {
      stdin?: string;
      env?: Record<string, string>;
      /** Sees stdout after each write, with a function that delivers Ctrl-C to the CLI. */
      onStdout?: (all: string, interrupt: () => void) => void;
    } = {},
  ): Promise<Run> {
    let interruptHandler: (() => void) | null = null;
    let stdout = "";
    let stderr = "";
    const ctx: CliContext = {
      stdout: {
        write: (s: string) => {
          stdout += s;
          opts.onStdout?.(stdout, () => interruptHandler?.());
        },
      },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
      env: readEnv({ BERTH_CONFIG_DIR: dir, BERTH_SERVER: base, ...opts.env }),
      lookupEnv: () => undefined,
      now: () => NOW,
      version: "0.0.0-test",
      onInterrupt: (h) => {
        interruptHandler = h;
        return () => (interruptHandler = null);
      },
    };
    const code = await runCli(argv, ctx);
    return { code, stdout, stderr };
  }

  const login = () => berth(["login", "-u", "admin", "--password-stdin"], { stdin: "s3cret pw\n" });

  it("login trades the password for a token and saves it with mode 0600", async () => {
    const r = await login();
    expect(r).toMatchObject({ code: 0, stdout: "Login Succeeded\n", stderr: "" });
    expect(srv.calls).toEqual([
      {
        path: "auth.cliLogin",
        authorization: undefined,
        input: expect.objectContaining({ username: "admin", password: "s3cret pw" }),
      },
    ]);
    const path = join(dir, "config.json");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(path, "utf8"));
    expect(saved.current).toBe(base);
    expect(saved.auths[base]).toMatchObject({ token: TOKEN, username: "admin" });

    const out = await berth(["logout"]);
    expect(out.stdout).toBe(`Removing login credentials for ${base}\n`);
    expect(JSON.parse(readFileSync(path, "utf8")).auths).toEqual({});
  });

  it("reports a wrong password as the server words it, and saves nothing", async () => {
    const r = await berth(["login", "-u", "admin", "-p", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("WARNING! Using --password via the CLI is insecure");
    expect(r.stderr).toContain("berth: wrong username or password\n");
    expect(() => statSync(join(dir, "config.json"))).toThrow();
  });

  it("sends the saved token and prints ps like docker", async () => {
    await login();
    const r = await berth(["ps", "-a"]);
    expect(r.code).toBe(0);
    expect(srv.calls.at(-1)).toEqual({
      path: "containers.list",
      authorization: `Bearer ${TOKEN}`,
      input: { all: true },
    });
    expect(r.stdout.split("\n")).toEqual([
      "CONTAINER ID   NAMES           IMAGE     COMMAND                  CREATED          STATUS                     PORTS     NODE",
      'aaaaaaaaaaaa   quirky_turing   busybox   "sh -c echo hello; e…"   10 seconds ago   Up 3 seconds                         node-1',
      'bbbbbbbbbbbb   old             busybox   "sh -c echo hello; e…"   10 seconds ago   Exited (0) 5 seconds ago             node-1',
      "",
    ]);
    const q = await berth(["ps", "-q"]);
    expect(q.stdout).toBe("aaaaaaaaaaaa\n");
    expect(srv.calls.at(-1)?.input).toEqual({ all: false });
  });

  it("says how to log in when there is no token", async () => {
    const r = await berth(["nodes", "ls"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `berth: not logged in to ${base}\nhint: run \`berth login -u USER --password-stdin\`\n`,
    );
    const bad = await berth(["nodes", "ls"], { env: { BERTH_TOKEN: "berth_bogus" } });
    expect(bad.stderr).toBe(
      "berth: sign in first (the token in BERTH_TOKEN was refused)\nhint: run `berth login -u USER --password-stdin`\n",
    );
  });

  it("run streams stdout and stderr, then exits with the container's code", async () => {
    await login();
    srv.calls.length = 0;
    const r = await berth([
      "run",
      "--rm",
      "-m",
      "64m",
      "-e",
      "A=1",
      "busybox",
      "sh",
      "-c",
      "echo hello",
    ]);
    expect(r).toEqual({ code: 3, stdout: "hello\nbye\n", stderr: "warn\n" });
    // One mutation, one subscription, one wait, then the client removes it (attached --rm,
    // as docker's client does): no other round trips.
    expect(srv.calls.map((c) => c.path).sort()).toEqual([
      "containers.logs",
      "containers.remove",
      "containers.run",
      "containers.wait",
    ]);
    expect(srv.calls[0]!.path).toBe("containers.run");
    expect(srv.calls.at(-1)).toMatchObject({
      path: "containers.remove",
      input: { ref: ID, force: true },
    });
    const input = srv.calls[0]!.input as RunContainerInput;
    // The server must not remove it before the output was read.
    expect(input.autoRemove).toBe(false);
    expect(input.spec).toMatchObject({
      image: "busybox",
      command: ["sh", "-c", "echo hello"],
      env: ["A=1"],
      limits: { memoryBytes: 67108864 },
    });
    expect(srv.calls.find((c) => c.path === "containers.logs")).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      input: { ref: ID, follow: true },
    });
  });

  it("run --rm of a container already removed uses run's exit code and says the output is lost", async () => {
    await login();
    srv.calls.length = 0;
    const r = await berth(["run", "--rm", "--name", "vanished", "busybox", "sh", "-c", "exit 7"]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "berth: the output of aaaaaaaaaaaa may be incomplete: it was removed (--rm) before its logs were read\n" +
        "berth: could not remove aaaaaaaaaaaa: no such container: " +
        "a".repeat(64) +
        "\n",
    );
    // Already exited: no wait.
    expect(srv.calls.map((c) => c.path)).toEqual([
      "containers.run",
      "containers.logs",
      "containers.remove",
    ]);
  });

  it("run: Ctrl-C once stops the container and waits for its exit code", async () => {
    await login();
    srv.calls.length = 0;
    const r = await berth(["run", "--name", "sleeper", "busybox", "sleep", "1000"], {
      onStdout: (all, interrupt) => {
        if (all === "zzz\n") interrupt();
      },
    });
    expect(r).toEqual({
      code: 143,
      stdout: "zzz\n",
      stderr: "berth: stopping cccccccccccc (Ctrl-C again to detach)\n",
    });
    expect(srv.calls.map((c) => c.path)).toContain("containers.stop");
  });

  it("run: Ctrl-C twice detaches with 130 and leaves the container running", async () => {
    await login();
    srv.calls.length = 0;
    const r = await berth(["run", "--name", "sleeper", "busybox", "sleep", "1000"], {
      onStdout: (all, interrupt) => {
        if (all === "zzz\n") {
          srv.resetSleeper(); // the first Ctrl-C's stop must not end the container here
          interrupt();
          interrupt();
        }
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("berth: detached from cccccccccccc; it keeps running");
  });

  it("run -d prints the full id and does not attach", async () => {
    await login();
    srv.calls.length = 0;
    const r = await berth(["run", "-d", "--name", "web", "busybox", "sleep", "60"]);
    expect(r).toEqual({ code: 0, stdout: `${ID}\n`, stderr: "" });
    expect(srv.calls.map((c) => c.path)).toEqual(["containers.run"]);
  });

  it("run failures exit 125 with the server's message; usage errors exit 2 before any request", async () => {
    await login();
    srv.calls.length = 0;
    const r = await berth(["run", "missing"]);
    expect(r).toMatchObject({ code: 125, stderr: "berth: pull access denied for missing\n" });

    const bad = await berth(["run", "-m", "64x", "busybox"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('berth: invalid argument "64x" for "-m, --memory" flag');
    const noImage = await berth(["run"]);
    expect(noImage.code).toBe(2);
    expect(noImage.stderr).toContain("berth: missing required argument 'image'");
    expect(noImage.stderr).toContain("See 'berth run --help'.");
    expect(srv.calls.map((c) => c.path)).toEqual(["containers.run"]);
  });

  it("lists the server's validation errors by field", async () => {
    await login();
    const local = await berth(["join-token", "create", "--ttl", "10s"]);
    expect(local).toMatchObject({
      code: 2,
      stderr: 'berth: invalid --ttl "10s": it must be between 1m and 7d\n',
    });
    // The CLI does not check node names; this server does (with zod), like berth-server would.
    const r = await berth(["images", "--node", "Bad Name"]);
    expect(r).toMatchObject({
      code: 1,
      stderr: "berth: invalid input\n  node: node names are lowercase\n",
    });
    const ok = await berth(["images"]);
    expect(ok.stdout.split("\n")).toEqual([
      "NODE      REPOSITORY               TAG       IMAGE ID       CREATED         SIZE",
      "node-1    busybox                  latest    0123456789ab   2 minutes ago   4.26MB",
      "node-1    registry:5000/team/app   v1        fedcba987654   2 minutes ago   1.23GB",
      "",
    ]);
  });

  it("join-token create prints the token and the agent command", async () => {
    await login();
    const r = await berth(["join-token", "create", "--ttl", "2h"]);
    expect(r.code).toBe(0);
    expect(srv.calls.at(-1)?.input).toEqual({ ttlSeconds: 7200 });
    expect(r.stdout).toContain("    berth_join_abc\n");
    expect(r.stdout).toContain("berth-agent --server http://127.0.0.1 --join-token berth_join_abc");
    expect(r.stdout).toContain("expires in 2 hours");
  });

  it("nodes ls prints the fleet's facts", async () => {
    await login();
    const r = await berth(["node", "ls"]);
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.split("\n");
    expect(header).toMatch(
      /^NAME\s+STATUS\s+AVAILABILITY\s+POOL\s+CPUS\s+MEMORY\s+CONTAINERS\s+AGENT\s+LABELS\s+LAST SEEN$/,
    );
    expect(row).toMatch(
      /^node-1\s+online\s+active\s+-\s+0\/2\s+0 B\/4\.0 GiB\s+1\/3\s+0\.1\.0\s+-\s+now$/,
    );
  });

  it("logs -t prefixes timestamps; stop and inspect report each missing container", async () => {
    await login();
    const logs = await berth(["logs", "-t", "--tail", "5", "quirky_turing"]);
    expect(logs).toEqual({
      code: 0,
      stdout: "2024-01-01T00:00:00.000000001Z hello\n",
      stderr: "2024-01-01T00:00:00.000000002Z warn\n",
    });
    expect(srv.calls.at(-1)?.input).toEqual({
      ref: "quirky_turing",
      follow: false,
      tail: 5,
      packed: true,
      timestamps: true,
    });

    // --since/--until: durations before now and Unix times become RFC 3339 instants
    expect(
      (await berth(["logs", "--since", "10m", "--until", "1700000000.5", "quirky_turing"])).code,
    ).toBe(0);
    expect(srv.calls.at(-1)?.input).toEqual({
      ref: "quirky_turing",
      follow: false,
      since: new Date(NOW - 600_000).toISOString(),
      until: "2023-11-14T22:13:20.500000000Z",
      packed: true,
      timestamps: false,
    });

    // --grep and --stream go to the server (the node searches); --regex needs --grep.
    expect(
      (await berth(["logs", "--grep", "a|b", "--regex", "--stream", "stderr", "quirky_turing"]))
        .code,
    ).toBe(0);
    expect(srv.calls.at(-1)?.input).toMatchObject({
      stream: "stderr",
      grep: { pattern: "a|b", regex: true, ignoreCase: false },
    });
    expect(await berth(["logs", "--regex", "quirky_turing"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("need --grep") as unknown,
    });
    expect(await berth(["logs", "--since", "yesterday", "quirky_turing"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('invalid argument "yesterday" for "--since" flag') as unknown,
    });

    // A retryable tRPC code (SERVICE_UNAVAILABLE) must fail the command, not reconnect forever.
    const offline = await berth(["logs", "-f", "offline"]);
    expect(offline).toEqual({ code: 1, stdout: "", stderr: "berth: node node-1 is offline\n" });

    const stop = await berth(["stop", "-t", "1", "aaaa", "nope"]);
    expect(stop.code).toBe(1);
    expect(stop.stdout).toBe("aaaa\n");
    expect(stop.stderr).toContain("berth: nope: no such container: nope\n");

    const inspect = await berth(["inspect", "nope"]);
    expect(inspect.code).toBe(1);
    expect(JSON.parse(inspect.stdout)).toEqual([]);
    expect(inspect.stderr).toBe("berth: nope: no such container: nope\n");
  });

  it("explains an unreachable server", async () => {
    const r = await berth(["ps"], { env: { BERTH_SERVER: "http://127.0.0.1:9" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "berth: cannot connect to berth-server at http://127.0.0.1:9: connection refused\n" +
        "hint: is berth-server running at http://127.0.0.1:9? start it with `npm run up`\n",
    );
    const run = await berth(["run", "busybox"], { env: { BERTH_SERVER: "http://127.0.0.1:9" } });
    expect(run.code).toBe(125);
    const logs = await berth(["logs", "x"], { env: { BERTH_SERVER: "http://127.0.0.1:9" } });
    expect(logs.code).toBe(1);
    expect(logs.stderr).toContain("hint: is berth-server running at http://127.0.0.1:9?");
  });
});
