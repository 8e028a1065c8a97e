/**
 * `berth commit` in-process against a tiny tRPC server on 127.0.0.1 implementing only
 * containers.commit with the real @berth/core input schema (the server's procedure is tested in
 * apps/web, the agent commits for real in its integration tests).
 */
import { CommitContainerInputSchema } from "@berth/core";
import { beforeEach, describe, expect, it } from "vitest";
import { runBerth, testTrpc, trpcServer, useTestServer } from "../testing/cli-harness";

const DIGEST = `sha256:${"9".repeat(64)}`;

function startServer() {
  const { t, p, calls } = testTrpc();
  const router = t.router({
    containers: t.router({
      commit: p.input(CommitContainerInputSchema).mutation(({ input }) => ({
        digest: DIGEST,
        ref: input.image ?? null,
        nodeId: "n1",
        nodeName: "node-1",
      })),
    }),
  });
  return { server: trpcServer(router), calls };
}

describe("berth commit", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-commit-");
  beforeEach(() => {
    srv.calls.length = 0;
  });

  it("sends the changes, message, author and pause, and prints the digest", async () => {
    const r = await runBerth(
      ["commit", "-c", 'CMD ["sh"]', "-c", "ENV A=1", "-m", "snap", "-a", "me", "web", "snap:1"],
      env,
    );
    expect(r).toEqual({ code: 0, stdout: `${DIGEST}\n`, stderr: "" });
    expect(srv.calls).toEqual([
      {
        path: "containers.commit",
        input: {
          ref: "web",
          image: "snap:1",
          changes: ['CMD ["sh"]', "ENV A=1"],
          message: "snap",
          author: "me",
          pause: true,
        },
      },
    ]);
  });

  it("--no-pause and no repository: an untagged image", async () => {
    const r = await runBerth(["commit", "--no-pause", "--json", "web"], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ digest: DIGEST, ref: null });
    expect(srv.calls[0]!.input).toEqual({ ref: "web", changes: [], pause: false });
  });

  it("a bad repository is refused by the schema with exit 1", async () => {
    const r = await runBerth(["commit", "web", "Bad Ref"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("berth:");
  });
});
