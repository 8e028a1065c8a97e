/**
 * The agent gateway end to end over real HTTP and WebSocket on 127.0.0.1, with a test peer that
 * speaks protocol v1 (ProtocolPeer). This tests the gateway and the API around it — join, hello,
 * commands, events, streams, disconnects — not containers: the peer runs none.
 */
import { createServer } from "node:http";
import { connect as netConnect, type AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newContainerId, type JoinResponse } from "@berth/core";
import { containers, eq, nodes } from "@berth/db";
import { callerFor, createFixture, insertContainer, type Fixture } from "../testing/fixtures";
import { ProtocolPeer, status, TEST_FACTS } from "../testing/protocol-peer";
import { startPeerServer, type PeerServer } from "../testing/test-server";

const SERVER_ID = "testserverid2345678901234a";

describe("agent gateway over a real socket", () => {
  let f: Fixture;
  let srv: PeerServer;
  let base: string;

  async function start(heartbeatIntervalMs = 5000) {
    f = await createFixture({ serverId: SERVER_ID, heartbeatIntervalMs });
    srv = await startPeerServer(f, SERVER_ID);
    base = srv.base;
  }

  const join = (hostname = "peer") =>
    srv.join(f.services.joinTokens.create(f.adminId, 600).token, hostname);
  const connect = (j: JoinResponse, inventory: unknown[] = []) =>
    srv.greet(j, { capabilities: ["logs"], inventory });

  const admin = () => callerFor(f, f.adminId);
  const row = (id: string) => f.db.select().from(containers).where(eq(containers.id, id)).get();
  const node = (id: string) => f.db.select().from(nodes).where(eq(nodes.id, id)).get()!;

  beforeEach(async () => {
    await start();
  });
  afterEach(async () => {
    await srv.close();
    await f.close();
  });

  it("join: refuses unknown and reused tokens with 401 and a kind", async () => {
    const bad = await fetch(`http://${base}/api/agent/join`, {
      method: "POST",
      body: JSON.stringify({ token: "bjt_does-not-exist", hostname: "h" }),
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({
      error: { kind: "unauthenticated", message: "unknown join token" },
    });
    const { token } = f.services.joinTokens.create(null, 600);
    await fetch(`http://${base}/api/agent/join`, {
      method: "POST",
      body: JSON.stringify({ token, hostname: "h" }),
    });
    const again = await fetch(`http://${base}/api/agent/join`, {
      method: "POST",
      body: JSON.stringify({ token, hostname: "h" }),
    });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe(
      "join token already used",
    );
    const junk = await fetch(`http://${base}/api/agent/join`, {
      method: "POST",
      body: "{not json",
    });
    expect(junk.status).toBe(400);
  });

  it("refuses an upgrade without a valid credential before upgrading", async () => {
    await expect(ProtocolPeer.connect(`ws://${base}/api/agent`, null)).rejects.toThrow(
      "upgrade refused: 401",
    );
    const j = await join();
    await expect(
      ProtocolPeer.connect(`ws://${base}/api/agent`, `${j.nodeId}.wrongsecretwrongsecret`),
    ).rejects.toThrow("upgrade refused: 401");
  });

  it("a refused upgrade keeps an error listener, so a client that resets cannot crash the server", async () => {
    // Node's HTTP server removes its own error listener from a socket it hands to 'upgrade'.
    const listeners: number[] = [];
    const http = createServer();
    http.on("upgrade", (req, socket, head) => {
      f.gateway.handleUpgrade(req, socket, head);
      listeners.push(socket.listenerCount("error"));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    try {
      const port = (http.address() as AddressInfo).port;
      for (let i = 0; i < 5; i++) {
        const sock = netConnect(port, "127.0.0.1");
        sock.on("error", () => undefined);
        await new Promise<void>((r) => sock.once("connect", () => r()));
        sock.write(
          "GET /api/agent HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            "Authorization: Bearer nobody.wrongsecretwrongsecret\r\n\r\n",
        );
        sock.resetAndDestroy();
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(listeners.length).toBeGreaterThan(0);
      for (const n of listeners) expect(n).toBeGreaterThan(0);
    } finally {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });

  it("hello → welcome, node online with facts; invalid frames get an error frame and the socket stays open", async () => {
    const j = await join();
    const peer = await ProtocolPeer.connect(`ws://${base}/api/agent`, j.credential);
    srv.peers.push(peer);
    peer.send({ type: "heartbeat", ts: 1 });
    expect((await peer.next("error")).error.message).toBe("expected a hello frame first");
    peer.send({
      type: "hello",
      protocol: 1,
      nodeId: j.nodeId,
      facts: TEST_FACTS,
      capabilities: [],
      inventory: [],
    });
    const welcome = await peer.next("welcome");
    expect(welcome).toEqual({
      type: "welcome",
      protocol: 1,
      serverId: SERVER_ID,
      heartbeatIntervalMs: 5000,
      ackedSeq: 0,
      usageAckedSeq: 0,
    });
    expect(node(j.nodeId)).toMatchObject({ status: "online", facts: TEST_FACTS });
    expect(f.services.health.check().agentsConnected).toBe(1);

    peer.send("this is not json");
    expect((await peer.next("error")).error).toEqual({
      kind: "invalid_input",
      message: "frame is not valid JSON",
    });
    peer.send({ type: "event", seq: -1, name: "container.exploded" });
    expect((await peer.next("error")).error.message).toMatch(/^invalid frame/);
    expect(peer.ws.readyState).toBe(peer.ws.OPEN);
    // and it still works: the API sees it online
    const list = await admin().nodes.list();
    expect(list).toEqual([
      expect.objectContaining({
        id: j.nodeId,
        status: "online",
        containers: { running: 0, total: 0 },
      }),
    ]);
  });

  it("containers.run: command round trip; the agent's result becomes the row", async () => {
    const j = await join();
    const { peer } = await connect(j);
    const running = admin().containers.run({
      name: "web",
      spec: { image: "busybox", command: ["sleep", "60"] },
    });
    const cmd = await peer.next("command");
    expect(cmd.name).toBe("container.run");
    const params = cmd.params as {
      containerId: string;
      name: string;
      spec: { image: string; command: string[] };
    };
    expect(params).toMatchObject({
      name: "web",
      spec: { image: "busybox", command: ["sleep", "60"] },
      autoRemove: false,
    });
    expect(row(params.containerId)?.state).toBe("creating");
    peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: status(params.containerId, "web", "running"),
    });
    const view = await running;
    expect(view).toMatchObject({
      id: params.containerId,
      name: "web",
      state: "running",
      nodeName: "peer",
      command: ["sleep", "60"],
      createdBy: "admin",
    });
    expect(row(params.containerId)).toMatchObject({ state: "running", pid: 4242 });
    expect((await admin().nodes.get({ ref: "peer" })).containers).toEqual({ running: 1, total: 1 });
  });

  it("containers.run: an agent error deletes the row and surfaces the agent's message", async () => {
    const j = await join();
    const { peer } = await connect(j);
    const running = admin().containers.run({ name: "broken", spec: { image: "nosuchimage" } });
    const cmd = await peer.next("command");
    peer.send({
      type: "result",
      id: cmd.id,
      ok: false,
      error: { kind: "not_found", message: "image nosuchimage not found in any registry" },
    });
    await expect(running).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "image nosuchimage not found in any registry",
    });
    expect(f.db.select().from(containers).all()).toEqual([]);
  });

  it("events update rows, are acked and stored once; wait resolves on exit", async () => {
    const j = await join();
    const { peer } = await connect(j);
    const id = insertContainer(f, j.nodeId, "job", { state: "running" });
    const waiting = admin().containers.wait({ ref: "job" });
    const exited = status(id, "job", "exited", {
      exitCode: 3,
      finishedAt: "2026-01-01T00:00:09.000Z",
    });
    peer.send({
      type: "event",
      seq: 1,
      name: "container.exited",
      at: "2026-01-01T00:00:09.000Z",
      data: exited,
    });
    expect(await peer.next("ack")).toEqual({ type: "ack", seq: 1 });
    expect(await waiting).toEqual({ exitCode: 3, state: "exited" });
    expect(row(id)).toMatchObject({
      state: "exited",
      exitCode: 3,
      finishedAt: new Date("2026-01-01T00:00:09.000Z"),
    });
    expect(node(j.nodeId).ackedSeq).toBe(1);
    // a redelivered event is acked again without being applied twice
    f.db.update(containers).set({ exitCode: 99 }).where(eq(containers.id, id)).run();
    peer.send({ type: "event", seq: 1, name: "container.exited", at: "x", data: exited });
    expect(await peer.next("ack")).toEqual({ type: "ack", seq: 1 });
    expect(row(id)?.exitCode).toBe(99);
    // removal event deletes the row
    peer.send({ type: "event", seq: 2, name: "container.removed", at: "x", data: { id } });
    expect(await peer.next("ack")).toEqual({ type: "ack", seq: 2 });
    expect(row(id)).toBeUndefined();
    // a bad event payload is answered with an error, not acked
    peer.send({ type: "event", seq: 3, name: "container.started", at: "x", data: { id: "nope" } });
    expect((await peer.next("error")).error.message).toMatch(/^invalid container.started event/);
    expect(node(j.nodeId).ackedSeq).toBe(2);
  });

  it("container.health_status events store the health and restart count in the row and the view", async () => {
    const j = await join();
    const { peer } = await connect(j);
    const id = insertContainer(f, j.nodeId, "probed", { state: "running" });
    const health = {
      status: "unhealthy",
      failingStreak: 3,
      log: [
        {
          start: "2026-01-01T00:00:02.000Z",
          end: "2026-01-01T00:00:02.010Z",
          exitCode: 1,
          output: "nope\n",
        },
      ],
    };
    peer.send({
      type: "event",
      seq: 1,
      name: "container.health_status",
      at: "2026-01-01T00:00:02.010Z",
      data: status(id, "probed", "running", { health, restartCount: 2 }),
    });
    expect(await peer.next("ack")).toEqual({ type: "ack", seq: 1 });
    expect(row(id)).toMatchObject({ health, restartCount: 2 });
    expect(await admin().containers.get({ ref: "probed" })).toMatchObject({
      health,
      restartCount: 2,
      restartPolicy: { name: "no", maximumRetryCount: 0 },
    });
  });

  it("logs: passes since/until to the agent", async () => {
    const j = await join();
    const { peer } = await connect(j);
    insertContainer(f, j.nodeId, "dated");
    const sub = await admin().containers.logs({
      ref: "dated",
      since: "2026-01-01T00:00:00Z",
      until: "2026-01-01T00:10:00.5+01:00",
    });
    const first = sub[Symbol.asyncIterator]().next();
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({
      name: "container.logs",
      params: { since: "2026-01-01T00:00:00Z", until: "2026-01-01T00:10:00.5+01:00" },
    });
    peer.send({ type: "stream_end", id: cmd.id });
    await first;
    await expect(admin().containers.logs({ ref: "dated", since: "10m" })).rejects.toThrow(
      /RFC 3339/,
    );
  });

  it("logs: relays stream frames to the subscription and cancels the agent stream when the client leaves", async () => {
    const j = await join();
    const { peer } = await connect(j);
    insertContainer(f, j.nodeId, "chatty");
    const ac = new AbortController();
    const caller = callerFor(f, f.adminId, { signal: ac.signal });
    const sub = await caller.containers.logs({ ref: "chatty", follow: true });
    const it = sub[Symbol.asyncIterator]();
    const first = it.next();
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "container.logs", params: { follow: true } });
    const line = {
      ts: "2026-01-01T00:00:00.000000001Z",
      stream: "stdout",
      line: "hello",
      full: true,
    };
    peer.send({ type: "stream", id: cmd.id, data: { lines: [line] } });
    expect((await first).value).toEqual({ lines: [line] });
    const second = it.next();
    ac.abort();
    await second.catch(() => undefined);
    expect(await peer.next("cancel")).toEqual({ type: "cancel", id: cmd.id });
  });

  it("logs over real HTTP (SSE): chunks arrive as events and closing the request cancels the agent stream", async () => {
    const j = await join();
    const { peer } = await connect(j);
    insertContainer(f, j.nodeId, "sse");
    const token = f.services.auth.createApiToken(f.adminId, "t").token;
    const ac = new AbortController();
    const input = encodeURIComponent(JSON.stringify({ ref: "sse", follow: true }));
    const res = await fetch(`http://${base}/api/trpc/containers.logs?input=${input}`, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const cmd = await peer.next("command");
    peer.send({
      type: "stream",
      id: cmd.id,
      data: { lines: [{ ts: "t", stream: "stdout", line: "over sse" }] },
    });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("over sse")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('"line":"over sse"');
    ac.abort();
    expect(await peer.next("cancel")).toEqual({ type: "cancel", id: cmd.id });
  });

  it("images.list asks every online node", async () => {
    const j = await join();
    const { peer } = await connect(j);
    const listing = admin().images.list();
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "image.list", params: {} });
    const digest = `sha256:${"a".repeat(64)}`;
    peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: {
        images: [
          { ref: "busybox:latest", digest, size: 2_000_000, createdAt: "2026-01-02T03:04:05Z" },
        ],
      },
    });
    expect(await listing).toEqual([
      {
        nodeId: j.nodeId,
        nodeName: "peer",
        ref: "busybox:latest",
        digest,
        size: 2_000_000,
        createdAt: Date.parse("2026-01-02T03:04:05Z"),
        // held by no team, and not the seeded base image (that one is created at the epoch)
        teams: [],
        system: false,
        scope: "fleet",
      },
    ]);
    // an invalid result is an error, not data
    const again = expect(admin().images.list({ node: "peer" })).rejects.toThrow(
      /sent an invalid image.list result/,
    );
    const cmd2 = await peer.next("command");
    peer.send({ type: "result", id: cmd2.id, ok: true, data: { images: [{ ref: 1 }] } });
    await again;
  });

  it("logs without follow ends at stream_end", async () => {
    const j = await join();
    const { peer } = await connect(j);
    insertContainer(f, j.nodeId, "done", { state: "exited" });
    const sub = await admin().containers.logs({ ref: "done" });
    const chunks: unknown[] = [];
    const reading = (async () => {
      for await (const c of sub) chunks.push(c);
    })();
    const cmd = await peer.next("command");
    peer.send({
      type: "stream",
      id: cmd.id,
      data: { lines: [{ ts: "t1", stream: "stderr", line: "a" }] },
    });
    peer.send({
      type: "stream",
      id: cmd.id,
      data: { lines: [{ ts: "t2", stream: "stdout", line: "b", full: false }] },
    });
    peer.send({ type: "stream_end", id: cmd.id });
    await reading;
    expect(chunks).toEqual([
      { lines: [{ ts: "t1", stream: "stderr", line: "a", full: true }] },
      { lines: [{ ts: "t2", stream: "stdout", line: "b", full: false }] },
    ]);
  });

  it("disconnect → offline; pending commands fail with unavailable", async () => {
    const j = await join();
    const { peer } = await connect(j);
    insertContainer(f, j.nodeId, "web");
    const stopping = expect(admin().containers.stop({ ref: "web" })).rejects.toMatchObject({
      code: "SERVICE_UNAVAILABLE",
      message: "node peer disconnected",
    });
    await peer.next("command");
    await peer.close();
    await stopping;
    await expect.poll(() => node(j.nodeId).status).toBe("offline");
    expect(node(j.nodeId).lastSeenAt).toBeInstanceOf(Date);
    expect(f.services.health.check().agentsConnected).toBe(0);
    await expect(admin().containers.stop({ ref: "web" })).rejects.toMatchObject({
      code: "SERVICE_UNAVAILABLE",
      message: "node peer is offline",
    });
  });

  it("hello reconciles: the agent's states win, stale creating rows die, unknown agent containers are left", async () => {
    const j = await join();
    const known = insertContainer(f, j.nodeId, "known", { state: "running" });
    const stale = insertContainer(f, j.nodeId, "stale", {
      state: "creating",
      createdAt: new Date(Date.now() - 120_000),
    });
    const fresh = insertContainer(f, j.nodeId, "fresh", { state: "creating" });
    const lost = insertContainer(f, j.nodeId, "lost", { state: "running" });
    const stranger = newContainerId();
    await connect(j, [
      status(known, "known", "exited", { exitCode: 0, finishedAt: "2026-01-01T00:01:00.000Z" }),
      status(stranger, "stranger", "running"),
    ]);
    expect(row(known)).toMatchObject({ state: "exited", exitCode: 0 });
    expect(row(stale)).toMatchObject({
      state: "dead",
      error: "the node never created this container",
    });
    expect(row(fresh)?.state).toBe("creating");
    expect(row(lost)).toMatchObject({
      state: "dead",
      error: "the node no longer has this container",
    });
    expect(row(stranger)).toBeUndefined();
  });

  it("a new connection replaces the old one, and welcome carries the stored ackedSeq", async () => {
    const j = await join();
    const first = await connect(j);
    first.peer.send({
      type: "event",
      seq: 7,
      name: "container.removed",
      at: "x",
      data: { id: newContainerId() },
    });
    await first.peer.next("ack");
    const second = await connect(j);
    expect(second.welcome.ackedSeq).toBe(7);
    expect((await first.peer.closed).code).toBe(4000);
    expect(node(j.nodeId).status).toBe("online");
    expect(f.gateway.connectedCount).toBe(1);
  });

  it("closes a node silent for 3 heartbeat intervals", async () => {
    await srv.close();
    await f.close();
    await start(500);
    const j = await join();
    const { peer, welcome } = await connect(j);
    expect(welcome.heartbeatIntervalMs).toBe(500);
    const t0 = Date.now();
    await peer.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    await expect.poll(() => node(j.nodeId).status).toBe("offline");
  });
});
