/**
 * `berth tag|rmi|image inspect|image prune` in-process against a tiny tRPC server on 127.0.0.1
 * that implements only images.* with the real @berth/core schemas (it tests the CLI's requests,
 * output and exit codes; the server's images.* are tested in apps/web, the agent's for real).
 */
import { DomainError, ImageRefOrIdSchema, ImageRefSchema } from "@berth/core";
import { TRPCError } from "@trpc/server";
import { beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  runBerth,
  testTrpc,
  trpcServer,
  useTestServer,
  type RunBerthOptions,
} from "../testing/cli-harness";

const DIGEST = `sha256:${"c".repeat(64)}`;
const node = { nodeId: "n1", nodeName: "node-1" };
/** What images.list answers as: an administrator ("fleet", every team's) or a member. */
let scope: "team" | "fleet" = "team";

function startServer() {
  const { t, p, calls } = testTrpc();
  const OnNode = { node: z.string().optional() };
  const router = t.router({
    images: t.router({
      inspect: p.input(z.object({ ref: ImageRefOrIdSchema, ...OnNode })).query(({ input }) => {
        if (input.ref !== "busybox")
          throw new TRPCError({
            code: "NOT_FOUND",
            message: `image "${input.ref}" not found on this node`,
            cause: new DomainError("not_found", "x"),
          });
        return {
          ...node,
          digest: DIGEST,
          refs: ["busybox:latest", "reg.local:5000/bb@sha256:" + "c".repeat(64)],
          size: 1000,
          created: "1970-01-01T00:00:00Z",
          architecture: "amd64",
          os: "linux",
          config: { Cmd: ["sh"] },
          layers: [
            { digest: DIGEST, size: 900, mediaType: "x", diffId: `sha256:${"d".repeat(64)}` },
          ],
          history: [],
        };
      }),
      tag: p
        .input(z.object({ source: ImageRefOrIdSchema, target: ImageRefSchema, ...OnNode }))
        .mutation(() => ({ ...node, digest: DIGEST })),
      remove: p
        .input(z.object({ ref: ImageRefOrIdSchema, force: z.boolean(), ...OnNode }))
        .mutation(({ input }) => {
          if (input.ref === "used:1" && !input.force)
            throw new TRPCError({
              code: "CONFLICT",
              message: "image used:1 (cccccccccccc) is used by container 0123456789ab",
              cause: new DomainError("conflict", "x"),
            });
          return { ...node, untagged: [input.ref], deleted: input.force ? [DIGEST] : [] };
        }),
      list: p.input(z.object(OnNode).optional()).query(() => {
        const row = (ref: string, teams: string[], system = false) => ({
          ...node,
          ref,
          digest: DIGEST,
          size: 1000,
          createdAt: 0,
          teams,
          system,
          scope,
        });
        return [row("busybox:latest", [], true), row("app:1", ["blue"])];
      }),
      assign: p
        .input(z.object({ ref: ImageRefOrIdSchema, team: z.string(), ...OnNode }))
        .mutation(() => []),
      prune: p
        .input(z.object({ all: z.boolean(), ...OnNode }))
        .mutation(() => [
          { ...node, untagged: ["app:3"], deleted: [DIGEST], reclaimedBytes: 2_500_000 },
        ]),
    }),
  });
  return { server: trpcServer(router), calls };
}

describe("berth image verbs against a tRPC server on 127.0.0.1", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-img-");
  beforeEach(() => {
    srv.calls.length = 0;
  });

  const berth = (argv: string[], o: RunBerthOptions = {}) => runBerth(argv, env, o);

  it("images: a member's table is docker's; an administrator's adds TEAM; --json carries it", async () => {
    scope = "team";
    const member = await berth(["images"]);
    expect(member.code).toBe(0);
    expect(member.stdout.split("\n")[0]).not.toContain("TEAM");
    scope = "fleet";
    const admin = await berth(["images"]);
    const lines = admin.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/SIZE\s+TEAM$/);
    expect(lines[1]).toMatch(/busybox\s+latest.*\(system\)$/);
    expect(lines[2]).toMatch(/app\s+1.*blue$/);
    const json = JSON.parse((await berth(["images", "--json"])).stdout) as { teams: string[] }[];
    expect(json.map((i) => i.teams)).toEqual([[], ["blue"]]);
    scope = "team";
  });

  it("image assign sends the image, team and node", async () => {
    const r = await berth(["image", "assign", "legacy:1", "blue", "--node", "node-1"]);
    expect(r).toEqual({ code: 0, stdout: "legacy:1: assigned to team blue\n", stderr: "" });
    expect(srv.calls).toEqual([
      { path: "images.assign", input: { ref: "legacy:1", team: "blue", node: "node-1" } },
    ]);
  });

  it("tag sends source and target and prints nothing", async () => {
    expect(await berth(["tag", "busybox", "reg.local:5000/team/bb:v1"])).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(srv.calls).toEqual([
      { path: "images.tag", input: { source: "busybox", target: "reg.local:5000/team/bb:v1" } },
    ]);
  });

  it("image inspect prints docker's shape; an unknown image fails with exit 1", async () => {
    const r = await berth(["image", "inspect", "busybox"]);
    expect(r.code).toBe(0);
    const [view] = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(view).toMatchObject({
      Id: DIGEST,
      RepoTags: ["busybox:latest"],
      RepoDigests: ["reg.local:5000/bb@sha256:" + "c".repeat(64)],
      Config: { Cmd: ["sh"] },
      RootFS: { Type: "layers", Layers: [`sha256:${"d".repeat(64)}`] },
      Node: "node-1",
    });
    const missing = await berth(["image", "inspect", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("[]\n");
    expect(missing.stderr).toContain('image "nope" not found');
  });

  it("rmi prints Untagged/Deleted lines, goes on after a refusal and exits 1", async () => {
    const r = await berth(["rmi", "used:1", "app:1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("Untagged: app:1\n");
    expect(r.stderr).toContain("berth: used:1: image used:1 (cccccccccccc) is used by container");
    const forced = await berth(["image", "rm", "-f", "used:1"]);
    expect(forced).toMatchObject({ code: 0, stdout: `Untagged: used:1\nDeleted: ${DIGEST}\n` });
    expect(srv.calls.at(-1)).toEqual({
      path: "images.remove",
      input: { ref: "used:1", force: true },
    });
  });

  it("image prune asks first, refuses without a terminal, and reports reclaimed space", async () => {
    const noPrompt = await berth(["image", "prune"]);
    expect(noPrompt.code).toBe(1);
    expect(noPrompt.stderr).toContain("add --force");
    expect(srv.calls).toEqual([]);

    const declined = await berth(["image", "prune", "-a"], { promptLine: async () => "n" });
    expect(declined.code).toBe(0);
    expect(srv.calls).toEqual([]);

    const r = await berth(["image", "prune", "-a", "-f"]);
    expect(r).toMatchObject({
      code: 0,
      stdout: `Deleted Images:\nuntagged: app:3\ndeleted: ${DIGEST}\n\nTotal reclaimed space: 2.5MB\n`,
    });
    expect(srv.calls).toEqual([{ path: "images.prune", input: { all: true } }]);
  });
});
