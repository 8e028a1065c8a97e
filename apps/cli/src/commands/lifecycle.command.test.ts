/**
 * The lifecycle verbs in-process against a tiny tRPC server on 127.0.0.1 that implements only the
 * procedures they call, validating input with the real @berth/core schemas (it tests the CLI's
 * requests, output and exit codes; it stands in for berth-server nowhere else).
 */
import {
  CreateContainerInputSchema,
  DomainError,
  KillContainerInputSchema,
  PauseContainerInputSchema,
  RenameContainerInputSchema,
  RestartContainerInputSchema,
  StartContainerInputSchema,
  WaitContainerInputSchema,
  type ContainerState,
} from "@berth/core";
import { TRPCError } from "@trpc/server";
import { beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { runBerth, testTrpc, trpcServer, useTestServer } from "../testing/cli-harness";

const ID = "b".repeat(64);

function startServer() {
  let state: ContainerState = "running";
  const { t, p, calls } = testTrpc();
  const view = () => ({
    id: ID,
    shortId: ID.slice(0, 12),
    name: "web",
    image: "busybox",
    command: null,
    state,
    exitCode: state === "exited" ? 3 : null,
    oomKilled: false,
    error: null,
    nodeId: "n1",
    nodeName: "node-1",
    createdAt: 1,
    startedAt: Date.parse("2026-01-01T00:00:00Z"),
    finishedAt: null,
    autoRemove: false,
  });
  const known = (ref: string) => {
    if (ref !== "web" && ref !== ID)
      throw new TRPCError({
        code: "NOT_FOUND",
        message: `no container "${ref}"`,
        cause: new DomainError("not_found", `no container "${ref}"`),
      });
  };
  const move = (to: ContainerState, allowed: ContainerState[], verb: string) => {
    if (!allowed.includes(state))
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: `cannot ${verb} container ${ID.slice(0, 12)}: it is ${state}`,
        cause: new DomainError("invalid_state", "x"),
      });
    state = to;
    return view();
  };
  const router = t.router({
    containers: t.router({
      get: p.input(z.object({ ref: z.string() })).query(({ input }) => {
        known(input.ref);
        return view();
      }),
      create: p.input(CreateContainerInputSchema).mutation(() => {
        state = "created";
        return view();
      }),
      start: p.input(StartContainerInputSchema).mutation(({ input }) => {
        known(input.ref);
        return move("running", ["created", "exited"], "start");
      }),
      kill: p.input(KillContainerInputSchema).mutation(({ input }) => {
        known(input.ref);
        return move(input.signal === "SIGKILL" ? "exited" : state, ["running", "paused"], "kill");
      }),
      restart: p.input(RestartContainerInputSchema).mutation(({ input }) => {
        known(input.ref);
        return move("running", ["running", "paused", "exited", "created"], "restart");
      }),
      pause: p.input(PauseContainerInputSchema).mutation(({ input }) => {
        known(input.ref);
        return move("paused", ["running"], "pause");
      }),
      unpause: p.input(PauseContainerInputSchema).mutation(({ input }) => {
        known(input.ref);
        return move("running", ["paused"], "unpause");
      }),
      rename: p.input(RenameContainerInputSchema).mutation(({ input }) => {
        known(input.ref);
        return { ...view(), name: input.name };
      }),
      wait: p.input(WaitContainerInputSchema).mutation(({ input }) => {
        known(input.ref);
        state = "exited";
        return { exitCode: 3, state };
      }),
      logs: p.input(z.unknown()).subscription(async function* () {
        yield { lines: [] };
      }),
    }),
  });
  return {
    server: trpcServer(router),
    calls,
    setState: (s: ContainerState) => (state = s),
  };
}

describe("berth lifecycle verbs against a tRPC server on 127.0.0.1", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-lc-");
  beforeEach(() => {
    srv.calls.length = 0;
    srv.setState("running");
  });

  const berth = (argv: string[]) => runBerth(argv, env);

  it("create sends the run input and prints the id", async () => {
    const r = await berth(["create", "--name", "web", "-m", "64m", "busybox", "sleep", "9"]);
    expect(r).toMatchObject({ code: 0, stdout: `${ID}\n` });
    expect(srv.calls).toEqual([
      {
        path: "containers.create",
        input: expect.objectContaining({
          name: "web",
          spec: expect.objectContaining({
            image: "busybox",
            command: ["sleep", "9"],
            limits: { memoryBytes: 64 * 2 ** 20 },
          }),
        }),
      },
    ]);
  });

  it("pause, unpause, start, restart -t, kill -s print each ref like docker", async () => {
    expect(await berth(["pause", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect(await berth(["unpause", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect(await berth(["restart", "-t", "3", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect(await berth(["kill", "-s", "usr1", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect(await berth(["kill", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect(await berth(["start", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect(srv.calls).toEqual([
      { path: "containers.pause", input: { ref: "web" } },
      { path: "containers.unpause", input: { ref: "web" } },
      { path: "containers.restart", input: { ref: "web", timeoutSeconds: 3 } },
      { path: "containers.kill", input: { ref: "web", signal: "usr1" } },
      { path: "containers.kill", input: { ref: "web", signal: "KILL" } },
      { path: "containers.start", input: { ref: "web" } },
    ]);
  });

  it("reports the server's refusal per ref and exits 1", async () => {
    srv.setState("exited");
    const r = await berth(["pause", "web", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      `berth: web: cannot pause container ${ID.slice(0, 12)}: it is exited`,
    );
    expect(r.stderr).toContain('berth: nope: no container "nope"');
  });

  it("refuses a bad signal or timeout as a usage error without calling the server", async () => {
    const bad = await berth(["kill", "-s", "TERM;x", "web"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid argument "TERM;x" for "-s, --signal" flag/);
    const t = await berth(["restart", "-t", "soon", "web"]);
    expect(t.code).toBe(2);
    expect(srv.calls).toEqual([]);
  });

  it("wait prints the exit code; rename renames; inspect shows docker's State with Paused", async () => {
    expect(await berth(["wait", "web"])).toMatchObject({ code: 0, stdout: "3\n" });
    expect(await berth(["rename", "web", "frontend"])).toMatchObject({ code: 0, stdout: "" });
    expect(srv.calls.at(-1)).toEqual({
      path: "containers.rename",
      input: { ref: "web", name: "frontend" },
    });
    srv.setState("paused");
    const r = await berth(["inspect", "web"]);
    expect(r.code).toBe(0);
    const [out] = JSON.parse(r.stdout) as [{ state: string; State: Record<string, unknown> }];
    expect(out.state).toBe("paused");
    expect(out.State).toMatchObject({
      Status: "paused",
      Running: true,
      Paused: true,
      Dead: false,
      ExitCode: null,
      StartedAt: "2026-01-01T00:00:00.000Z",
    });
  });

  it("start -a attaches and exits with the container's code", async () => {
    srv.setState("created");
    const r = await berth(["start", "-a", "web"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
    expect(srv.calls.map((c) => c.path)).toEqual(
      expect.arrayContaining(["containers.start", "containers.wait"]),
    );
  });
});
