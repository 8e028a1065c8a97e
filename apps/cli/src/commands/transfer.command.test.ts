/**
 * `berth pull|push` and `berth login|logout REGISTRY` in-process against a tiny tRPC server on
 * 127.0.0.1 implementing images.pull/push (SSE subscriptions) and registries.* with the real
 * @berth/core schemas: requests, per-layer output on a pipe, --quiet/--json, errors, and that
 * `berth login` without a registry still logs in to the berth-server.
 */
import {
  DomainError,
  ImagePullInputSchema,
  ImagePushInputSchema,
  RegistryLoginInputSchema,
  RegistryLogoutInputSchema,
  type ImageTransferViewChunk,
} from "@berth/core";
import { TRPCError } from "@trpc/server";
import { beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { TransferProgressView } from "./transfer-progress";
import {
  runBerth,
  testTrpc,
  trpcServer,
  useTestServer,
  type RunBerthOptions,
} from "../testing/cli-harness";

const DIGEST = `sha256:${"c".repeat(64)}`;
const L1 = `sha256:${"1".repeat(64)}`;
const L2 = `sha256:${"2".repeat(64)}`;

function layer(digest: string, status: string, done: number, total = 100) {
  return { digest, kind: "layer" as const, status: status as "done", done, total };
}

function startServer() {
  const { t, p, calls } = testTrpc();
  async function* transfer(
    ref: string,
    kind: "pull" | "push",
  ): AsyncGenerator<ImageTransferViewChunk> {
    if (ref.includes("denied"))
      throw new TRPCError({
        code: "UNAUTHORIZED",
        message: `127.0.0.1:5000: the credentials of "alice" were refused`,
        cause: new DomainError("unauthenticated", "x"),
      });
    const moving = kind === "pull" ? "downloading" : "uploading";
    yield { progress: [layer(L1, "waiting", 0), layer(L2, "exists", 100)] };
    yield { progress: [layer(L1, moving, 40)] };
    yield { progress: [layer(L1, moving, 80)] };
    yield { progress: [layer(L1, "done", 100)] };
    yield { digest: DIGEST, ref, nodeName: "node-1" };
  }
  const router = t.router({
    auth: t.router({
      cliLogin: p
        .input(z.object({ username: z.string(), password: z.string(), tokenName: z.string() }))
        .mutation(({ input }) => ({
          token: "berth_fromlogin",
          user: { id: "u1", username: input.username, isAdmin: true },
        })),
    }),
    images: t.router({
      pull: p.input(ImagePullInputSchema).subscription(({ input }) => transfer(input.ref, "pull")),
      push: p
        .input(ImagePushInputSchema)
        .subscription(({ input }) => transfer(input.target, "push")),
    }),
    registries: t.router({
      login: p.input(RegistryLoginInputSchema).mutation(({ input }) => ({
        registry: input.registry,
        username: input.username,
        updatedAt: 1,
      })),
      logout: p.input(RegistryLogoutInputSchema).mutation(({ input }) => ({
        registry: input.registry,
        removed: input.registry !== "nope.io",
      })),
      list: p.query(() => []),
    }),
  });
  return { server: trpcServer(router), calls };
}

describe("berth pull/push/login REGISTRY against a tRPC server on 127.0.0.1", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-xfer-");
  beforeEach(() => {
    srv.calls.length = 0;
  });

  const berth = (argv: string[], o: RunBerthOptions = {}) => runBerth(argv, env, o);

  it("pull prints a line per layer status change on a pipe, then the digest", async () => {
    const r = await berth(["pull", "127.0.0.1:5000/team/app:1", "--node", "node-1"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "111111111111: Pulling fs layer",
        "222222222222: Already exists",
        "111111111111: Downloading",
        "111111111111: Pull complete",
        `Digest: ${DIGEST}`,
        "Status: Downloaded newer image for 127.0.0.1:5000/team/app:1",
        "127.0.0.1:5000/team/app:1",
        "",
      ].join("\n"),
    );
    expect(srv.calls).toEqual([
      { path: "images.pull", input: { ref: "127.0.0.1:5000/team/app:1", node: "node-1" } },
    ]);
  });

  it("--quiet prints only the reference, --json the result", async () => {
    expect(await berth(["pull", "-q", "busybox"])).toEqual({
      code: 0,
      stdout: "busybox\n",
      stderr: "",
    });
    const j = await berth(["push", "--json", "localhost:5000/team/bb:2"]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({
      ref: "localhost:5000/team/bb:2",
      digest: DIGEST,
      node: "node-1",
    });
    expect(srv.calls.at(-1)).toEqual({
      path: "images.push",
      input: { source: "localhost:5000/team/bb:2", target: "localhost:5000/team/bb:2" },
    });
  });

  it("push prints docker's lines; a refused credential fails with the registry's words", async () => {
    const r = await berth(["push", "localhost:5000/team/bb:2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "The push refers to repository [localhost:5000/team/bb]",
        "111111111111: Preparing",
        "222222222222: Layer already exists",
        "111111111111: Pushing",
        "111111111111: Pushed",
        `2: digest: ${DIGEST}`,
        "",
      ].join("\n"),
    );
    const denied = await berth(["pull", "127.0.0.1:5000/denied:1"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`the credentials of "alice" were refused`);
  });

  it("login REGISTRY saves the team credential; without one it logs in to the berth-server", async () => {
    const r = await berth(["login", "127.0.0.1:5000", "-u", "alice", "--password-stdin"], {
      stdinText: "s3cret\n",
    });
    expect(r).toEqual({ code: 0, stdout: "Login Succeeded\n", stderr: "" });
    expect(srv.calls).toEqual([
      {
        path: "registries.login",
        input: { registry: "127.0.0.1:5000", username: "alice", password: "s3cret" },
      },
    ]);
    srv.calls.length = 0;
    const berthLogin = await berth(["login", env.base, "-u", "admin", "--password-stdin"], {
      stdinText: "pw\n",
    });
    expect(berthLogin.code).toBe(0);
    expect(srv.calls.map((c) => c.path)).toEqual(["auth.cliLogin"]);

    expect(await berth(["logout", "127.0.0.1:5000"])).toMatchObject({
      code: 0,
      stdout: "Removing login credentials for 127.0.0.1:5000\n",
    });
    expect(await berth(["logout", "nope.io"])).toMatchObject({
      stdout: "Not logged in to nope.io\n",
    });
    const noUser = await berth(["login", "127.0.0.1:5000", "--password-stdin"], { stdinText: "x" });
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toContain("--username");
  });

  it("draws one bar per layer on a terminal", () => {
    let out = "";
    const view = TransferProgressView.for(
      { write: (s: string) => (out += s), isTTY: true },
      "pull",
      false,
    );
    view.update([layer(L1, "downloading", 50, 100), layer(L2, "exists", 100)]);
    view.update([layer(L1, "done", 100, 100)]);
    view.stop();
    expect(out).toContain("111111111111: Pull complete");
    expect(out).toContain("222222222222: Already exists");
    expect(out).toContain("=".repeat(40));
  });
});
