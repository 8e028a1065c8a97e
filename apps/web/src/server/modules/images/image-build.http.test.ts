/**
 * POST /api/images/build over real HTTP, with the real gateway and a protocol-v1 test peer on
 * 127.0.0.1 playing the agent (the builder runs real RUN steps in apps/node-agent's
 * builder.integration.test.ts). Checks the context relay, NDJSON progress then result, refusals
 * before anything is sent, the admin-only host network, and the audit trail.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ServerFrame } from "@berth/core";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { addUser, createFixture, type Fixture } from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234b";
const DIGEST = `sha256:${"d".repeat(64)}`;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("POST /api/images/build", () => {
  let f: Fixture;
  let connected: ConnectedPeer;
  let peer: ProtocolPeer;
  let adminToken: string;

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    connected = await connectPeer(f, SERVER_ID);
    ({ peer } = connected);
    adminToken = f.services.auth.createApiToken(f.adminId, "t").token;
  });
  afterEach(async () => {
    await connected.close();
    await f.close();
  });

  const url = (q: string) => `http://${connected.base}/api/images/build${q}`;
  const post = (q: string, token: string, body: Buffer) =>
    fetch(url(q), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/x-tar" },
      body: new Uint8Array(body),
    });
  const lines = async (r: Response) =>
    (await r.text())
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  /** The agent's side: reads the context to eof, sends progress, then the result. */
  async function agentBuilds(id: string, result: unknown): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for (;;) {
      const fr = (await peer.next("stream_input", (x) => x.id === id)) as Extract<
        ServerFrame,
        { type: "stream_input" }
      >;
      if (fr.data) chunks.push(Buffer.from(fr.data, "base64"));
      if (fr.eof) break;
    }
    const got = Buffer.concat(chunks);
    peer.send({ type: "stream", id, data: { received: got.length } });
    peer.send({ type: "stream", id, data: { progress: "#1 [1/2] FROM busybox" } });
    peer.send({ type: "stream", id, data: { progress: "#2 [2/2] RUN true" } });
    peer.send({ type: "stream", id, data: { built: result } });
    peer.send({ type: "stream_end", id });
    return got;
  }

  it("relays the context, streams progress lines, then the result; audited", async () => {
    const context = Buffer.alloc(150_000, 9);
    const res = post(
      "?t=app:1&t=app:latest&file=sub/Dockerfile&build-arg=V=2&target=final",
      adminToken,
      context,
    );
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({
      name: "image.build",
      params: {
        tags: ["app:1", "app:latest"],
        dockerfile: "sub/Dockerfile",
        buildArgs: { V: "2" },
        target: "final",
        allowHostNetwork: false,
      },
    });
    const built = { digest: DIGEST, tags: ["app:1", "app:latest"], steps: [], warnings: [] };
    const got = await agentBuilds(cmd.id, built);
    expect(sha(got)).toBe(sha(context));
    const r = await res;
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/x-ndjson");
    expect(await lines(r)).toEqual([
      { progress: "#1 [1/2] FROM busybox" },
      { progress: "#2 [2/2] RUN true" },
      { built: { ...built, nodeId: connected.nodeId, nodeName: expect.any(String) } },
    ]);
    expect(f.services.audit.recent().filter((a) => a.action === "images.build")).toMatchObject([
      { result: "ok", target: "app:1, app:latest" },
    ]);
  });

  it("a failing build ends with an error line", async () => {
    const res = post("?t=app:2", adminToken, Buffer.alloc(10));
    const cmd = await peer.next("command");
    await peer.next("stream_input", (x) => x.id === cmd.id && x.eof === true);
    const message = "Dockerfile:3: RUN false failed with exit code 1";
    peer.send({ type: "stream_end", id: cmd.id, error: { kind: "runtime", message } });
    expect(await lines(await res)).toEqual([{ error: { kind: "runtime", message } }]);
    expect(f.services.audit.recent().find((a) => a.action === "images.build")).toMatchObject({
      result: "error",
      error: message,
    });
  });

  it("refuses bad input, viewers and a non-admin host network before contacting the node", async () => {
    const bad = await post("?t=UPPER", adminToken, Buffer.alloc(1));
    expect(bad.status).toBe(400);
    const escape = await post("?t=a:1&file=../Dockerfile", adminToken, Buffer.alloc(1));
    expect(await escape.json()).toMatchObject({
      error: { kind: "invalid_input", message: expect.stringContaining("inside it") },
    });
    const viewer = f.services.auth.createApiToken(
      await addUser(f, "vic", { role: "viewer" }),
      "t",
    ).token;
    expect((await post("?t=a:1", viewer, Buffer.alloc(1))).status).toBe(403);
    const op = f.services.auth.createApiToken(
      await addUser(f, "otto", { role: "operator" }),
      "t",
    ).token;
    const host = await post("?t=a:1&network=host", op, Buffer.alloc(1));
    expect(host.status).toBe(403);
    expect(await host.json()).toMatchObject({
      error: { message: expect.stringContaining("--network host") },
    });
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });
});
