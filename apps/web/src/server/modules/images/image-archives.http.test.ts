/**
 * /api/images/{save,load,import} over real HTTP, with the real gateway and a protocol-v1 test
 * peer on 127.0.0.1 playing the agent (the agent's archive code is tested for real in
 * apps/node-agent). Checks authentication, permissions, the audit trail, and that bytes are
 * relayed both ways intact — uploads within the flow-control window.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IMAGE_UPLOAD_WINDOW_BYTES, type ServerFrame } from "@berth/core";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { addUser, createFixture, type Fixture } from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234a";
const DIGEST = `sha256:${"c".repeat(64)}`;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("image archive endpoints", () => {
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

  const url = (path: string) => `http://${connected.base}${path}`;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const audits = () => f.services.audit.recent().filter((r) => r.action.startsWith("images."));

  /** Plays the agent's side of an upload: acks every MiB it gets, answers `loaded` at eof. */
  async function agentReceives(
    id: string,
    loaded: unknown,
  ): Promise<{ bytes: Buffer; maxInFlight: number }> {
    const chunks: Buffer[] = [];
    let got = 0;
    let acked = 0;
    let maxInFlight = 0;
    for (;;) {
      const frame = (await peer.next("stream_input", (fr) => fr.id === id)) as Extract<
        ServerFrame,
        { type: "stream_input" }
      >;
      if (frame.data) {
        const b = Buffer.from(frame.data, "base64");
        chunks.push(b);
        got += b.length;
        maxInFlight = Math.max(maxInFlight, got - acked);
        if (got - acked >= 1024 * 1024) {
          acked = got;
          peer.send({ type: "stream", id, data: { received: got } });
        }
      }
      if (frame.eof) break;
    }
    peer.send({ type: "stream", id, data: { received: got } });
    peer.send({ type: "stream", id, data: { loaded } });
    peer.send({ type: "stream_end", id });
    return { bytes: Buffer.concat(chunks), maxInFlight };
  }

  it("refuses callers without a session or token (401) and viewers for load (403), audited", async () => {
    const anon = await fetch(url("/api/images/save?ref=busybox"));
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { kind: "unauthenticated" } });
    const viewer = await addUser(f, "vera", { role: "viewer" });
    const vtoken = f.services.auth.createApiToken(viewer, "t").token;
    const load = await fetch(url("/api/images/load"), {
      method: "POST",
      headers: { ...auth(vtoken), "content-type": "application/x-tar" },
      body: Buffer.alloc(1024),
    });
    expect(load.status).toBe(403);
    expect(await load.json()).toMatchObject({
      error: { kind: "forbidden", message: expect.stringMatching(/image.pull/) },
    });
    expect(audits().map((a) => [a.action, a.result, a.actorName])).toEqual(
      expect.arrayContaining([
        ["images.save", "denied", null],
        ["images.load", "denied", "vera"],
      ]),
    );
    const wrongMethod = await fetch(url("/api/images/load"), { headers: auth(adminToken) });
    expect(wrongMethod.status).toBe(405);
  });

  it("save streams the node's archive bytes as application/x-tar", async () => {
    const parts = [
      Buffer.alloc(200_000, 1),
      Buffer.alloc(256 * 1024, 2),
      Buffer.alloc(256 * 1024, 3),
      Buffer.alloc(256 * 1024, 4),
      Buffer.alloc(256 * 1024, 5),
      Buffer.from("end"),
    ];
    const res = fetch(url("/api/images/save?ref=busybox&ref=app:1"), { headers: auth(adminToken) });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "image.save", params: { refs: ["busybox", "app:1"] } });
    for (const p of parts)
      peer.send({ type: "stream", id: cmd.id, data: { data: p.toString("base64") } });
    // What the server has passed on to the client is acknowledged (the agent's window).
    const ack = await peer.next("stream_input", (fr) => fr.id === cmd.id);
    expect(ack).toEqual({ type: "stream_input", id: cmd.id, ack: 200_000 + 4 * 256 * 1024 });
    peer.send({ type: "stream_end", id: cmd.id });
    const r = await res;
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/x-tar");
    const body = Buffer.from(await r.arrayBuffer());
    expect(sha(body)).toBe(sha(Buffer.concat(parts)));
    expect(audits().at(0)).toMatchObject({
      action: "images.save",
      result: "ok",
      target: "busybox, app:1",
    });
  });

  it("save of an image the node lacks answers 404 as JSON", async () => {
    const res = fetch(url("/api/images/save?ref=nothere"), { headers: auth(adminToken) });
    const cmd = await peer.next("command");
    peer.send({
      type: "stream_end",
      id: cmd.id,
      error: { kind: "not_found", message: 'image "nothere" not found on this node' },
    });
    const r = await res;
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      error: { kind: "not_found", message: 'image "nothere" not found on this node' },
    });
    expect(audits().at(0)).toMatchObject({ action: "images.save", result: "error" });
  });

  it("load relays the body within the flow-control window and answers what was loaded", async () => {
    const body = Buffer.alloc(20 * 1024 * 1024 + 333);
    for (let i = 0; i < body.length; i += 4096) body[i] = (i / 4096) & 0xff;
    const res = fetch(url("/api/images/load"), {
      method: "POST",
      headers: { ...auth(adminToken), "content-type": "application/x-tar" },
      body,
    });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "image.load", params: {} });
    const loaded = [{ ref: "busybox:latest", digest: DIGEST }];
    const agent = await agentReceives(cmd.id, loaded);
    const r = await res;
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      nodeId: connected.nodeId,
      nodeName: "peer",
      loaded,
    });
    expect(sha(agent.bytes)).toBe(sha(body));
    expect(agent.maxInFlight).toBeLessThanOrEqual(IMAGE_UPLOAD_WINDOW_BYTES);
    expect(audits().at(0)).toMatchObject({ action: "images.load", result: "ok" });
  });

  it("import passes ref and parsed --change lines; the node's refusal comes back as 400", async () => {
    const change = encodeURIComponent('CMD ["sh"]');
    const res = fetch(url(`/api/images/import?ref=example/rootfs:1&change=${change}`), {
      method: "POST",
      headers: { ...auth(adminToken), "content-type": "application/x-tar" },
      body: Buffer.alloc(4096),
    });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({
      name: "image.import",
      params: { ref: "example/rootfs:1", changes: { cmd: ["sh"] } },
    });
    await peer.next("stream_input", (fr) => fr.id === cmd.id);
    peer.send({
      type: "stream_end",
      id: cmd.id,
      error: { kind: "invalid_input", message: "layer entry escapes the root: ../evil" },
    });
    const r = await res;
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { message: /escapes the root/ } });
    expect(audits().at(0)).toMatchObject({
      action: "images.import",
      result: "error",
      target: "example/rootfs:1",
    });
  });

  it("refuses a bad content type, a missing ref and an invalid --change before reaching the node", async () => {
    const post = (path: string, type = "application/x-tar") =>
      fetch(url(path), {
        method: "POST",
        headers: { ...auth(adminToken), "content-type": type },
        body: Buffer.alloc(10),
      });
    expect((await post("/api/images/load", "text/plain")).status).toBe(400);
    expect((await post("/api/images/import")).status).toBe(400);
    const bad = await post(`/api/images/import?ref=a:1&change=${encodeURIComponent("RUN x")}`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { message: /CMD, ENTRYPOINT, ENV and WORKDIR/ },
    });
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });
});
