/**
 * Protocol-client tests: a real `ws` server on 127.0.0.1 (test-helpers/protocol-server.ts) plays
 * berth-server, and an in-memory RecordingHandler stands in for the engine. These tests exercise
 * the WebSocket protocol client only (hello/welcome, pinning, dispatch, idempotency, streams,
 * outbox, reconnects); they do not run containers and claim nothing about the kernel.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DomainError,
  HelloFrameSchema,
  newContainerId,
  type AgentFrame,
  type LogLine,
} from "@berth/core";
import { AgentClient, CAPABILITIES, agentSocketUrl, type AgentClientOptions } from "./agent-client";
import type { StoredCredential } from "./credentials";
import { memoryLogger } from "./logger";
import { OUTBOX_FILE, Outbox } from "./outbox";
import { ProtocolTestServer, withTimeout, type ServerConn } from "./test-helpers/protocol-server";
import { RecordingHandler, TEST_FACTS, statusOf } from "./test-helpers/recording-handler";

type Frame<T extends AgentFrame["type"]> = Extract<AgentFrame, { type: T }>;

let server: ProtocolTestServer;
let dir: string;
let clients: AgentClient[];
let outboxes: Outbox[];

beforeEach(async () => {
  server = new ProtocolTestServer();
  await server.listen();
  dir = mkdtempSync(join(tmpdir(), "berth-agent-client-"));
  clients = [];
  outboxes = [];
});

afterEach(async () => {
  for (const c of clients) await c.close();
  for (const o of outboxes) o.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function cred(): StoredCredential {
  return {
    serverUrl: server.url,
    nodeId: server.nodeId,
    nodeName: "node-one",
    credential: server.credential,
    serverId: server.serverId,
  };
}

function startClient(handler: RecordingHandler, extra: Partial<AgentClientOptions> = {}) {
  const log = memoryLogger();
  const outbox = Outbox.open(dir, log);
  outboxes.push(outbox);
  const client = new AgentClient({
    serverUrl: server.url,
    credential: cred(),
    handler,
    outbox,
    log,
    backoff: { initialMs: 40, maxMs: 400, resetAfterMs: 30_000, random: () => 1 },
    refusedRetryMs: 150,
    ...extra,
  });
  clients.push(client);
  client.start();
  return { client, log, outbox };
}

async function connected(
  handler = new RecordingHandler(),
  extra: Partial<AgentClientOptions> = {},
) {
  const started = startClient(handler, extra);
  const conn = await server.connection(1);
  await conn.waitFor((f) => f.type === "hello");
  await withTimeout(started.client.whenConnected(), 3000, "welcome");
  return { ...started, handler, conn };
}

const resultOf = (conn: ServerConn, id: string) =>
  conn.waitFor<Frame<"result">>((f) => f.type === "result" && f.id === id);
const runParams = (containerId: string) => ({
  containerId,
  name: "web-1",
  spec: { image: "busybox:latest", command: ["sleep", "1"] },
});

describe("agentSocketUrl", () => {
  it("maps http(s) base URLs, with or without a path, to ws(s)://…/api/agent", () => {
    expect(agentSocketUrl("http://127.0.0.1:3000")).toBe("ws://127.0.0.1:3000/api/agent");
    expect(agentSocketUrl("https://berth.example.com/base")).toBe(
      "wss://berth.example.com/base/api/agent",
    );
  });
});

describe("AgentClient handshake", () => {
  it("dials with the Bearer credential and sends a valid hello with facts, capabilities and inventory", async () => {
    const handler = new RecordingHandler();
    const id = newContainerId();
    handler.containers.set(id, statusOf(id, "kept", "running"));
    const { conn, log } = await connected(handler);
    expect(conn.authorization).toBe(`Bearer ${server.credential}`);
    const hello = await conn.waitFor<Frame<"hello">>((f) => f.type === "hello");
    expect(HelloFrameSchema.safeParse(hello).success).toBe(true);
    expect(hello.nodeId).toBe(server.nodeId);
    expect(hello.facts).toEqual(TEST_FACTS);
    expect(hello.capabilities.sort()).toEqual([...CAPABILITIES].sort());
    expect(hello.capabilities).toContain("container.logs");
    expect(hello.inventory).toEqual([statusOf(id, "kept", "running")]);
    expect(conn.invalid).toEqual([]);
    expect(log.records.some((r) => r.msg === "connected")).toBe(true);
  });

  it("refuses a welcome whose serverId differs from the pinned one, closes, and retries slowly", async () => {
    server.autoWelcome = { serverId: "srv_impostor" };
    const handler = new RecordingHandler();
    const { client, log } = startClient(handler);
    const c1 = await server.connection(1);
    const closed = await withTimeout(c1.closed, 3000, "close");
    expect(closed.code).toBe(4003);
    expect(client.connected).toBe(false);
    const loud = log.records.find(
      (r) => r.level === "error" && r.msg.startsWith("SERVER IDENTITY MISMATCH"),
    );
    expect(loud?.extra).toMatchObject({ pinned: server.serverId, offered: "srv_impostor" });
    // Commands sent to an unverified server are never executed.
    // (The connection is closed, so the agent is on its slow retry; the next one is refused too.)
    const c2 = await server.connection(2);
    expect(c2.openedAt - c1.openedAt).toBeGreaterThanOrEqual(100);
    c2.send({
      type: "command",
      id: "sneaky",
      name: "container.run",
      params: runParams(newContainerId()),
    });
    await withTimeout(c2.closed, 3000, "close");
    expect(handler.calls).toEqual([]);
  });

  it("refuses commands that arrive before welcome", async () => {
    server.autoWelcome = false;
    const handler = new RecordingHandler();
    startClient(handler);
    const conn = await server.connection(1);
    await conn.waitFor((f) => f.type === "hello");
    conn.send({
      type: "command",
      id: "early",
      name: "container.run",
      params: runParams(newContainerId()),
    });
    const err = await conn.waitFor<Frame<"error">>((f) => f.type === "error");
    expect(err).toMatchObject({ error: { kind: "invalid_state" }, ref: "early" });
    expect(handler.calls).toEqual([]);
  });

  it("keeps retrying slowly and logs clearly when the server refuses the credential with 401", async () => {
    server.refuseUpgradeWith = 401;
    const { log } = startClient(new RecordingHandler());
    await withTimeout(
      (async () => {
        while (server.upgradeAttempts.length < 3) await new Promise((r) => setTimeout(r, 20));
      })(),
      3000,
      "three upgrade attempts",
    );
    const gaps = server.upgradeAttempts
      .slice(1)
      .map((a, i) => a.at - server.upgradeAttempts[i]!.at);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(100); // refusedRetryMs 150 ± 25 %
    const rec = log.records.find(
      (r) => r.level === "error" && r.msg.includes("refused this agent's credential (HTTP 401)"),
    );
    expect(rec?.extra).toMatchObject({
      status: 401,
      server: "unauthenticated: unknown or revoked node credential",
    });
    // Once the server accepts again, the agent gets in.
    server.refuseUpgradeWith = undefined;
    const conn = await server.connection(1, 3000);
    await conn.waitFor((f) => f.type === "hello");
  });
});

describe("AgentClient commands", () => {
  it("validates params, dispatches to the handler and answers ok results", async () => {
    const { conn, handler } = await connected();
    const id = newContainerId();
    conn.send({ type: "command", id: "c-run", name: "container.run", params: runParams(id) });
    const r = await resultOf(conn, "c-run");
    expect(r).toMatchObject({ ok: true, data: { id, name: "web-1", state: "running" } });
    // zod defaults were applied before the handler saw the params.
    expect(handler.calls[0]).toEqual({
      method: "run",
      args: {
        containerId: id,
        name: "web-1",
        autoRemove: false,
        spec: expect.objectContaining({
          image: "busybox:latest",
          env: [],
          tty: false,
          limits: {},
          labels: {},
        }),
      },
    });
    conn.send({
      type: "command",
      id: "c-inspect",
      name: "container.inspect",
      params: { containerId: id },
    });
    expect(await resultOf(conn, "c-inspect")).toMatchObject({
      ok: true,
      data: { id, state: "running" },
    });
    conn.send({ type: "command", id: "c-images", name: "image.list", params: {} });
    expect(await resultOf(conn, "c-images")).toMatchObject({
      ok: true,
      data: { images: [{ ref: "busybox:latest" }] },
    });
    conn.send({
      type: "command",
      id: "c-stop",
      name: "container.stop",
      params: { containerId: id },
    });
    expect(await resultOf(conn, "c-stop")).toMatchObject({
      ok: true,
      data: { state: "exited", exitCode: 0 },
    });
    expect(handler.calls.find((c) => c.method === "stop")?.args).toEqual({
      containerId: id,
      timeoutSeconds: 10,
    });
    expect(conn.invalid).toEqual([]);
  });

  it("answers invalid params with invalid_input without calling the handler, and maps thrown errors", async () => {
    const { conn, handler } = await connected();
    conn.send({
      type: "command",
      id: "bad-params",
      name: "container.run",
      params: { containerId: "nope", name: "x" },
    });
    const bad = await resultOf(conn, "bad-params");
    expect(bad).toMatchObject({ ok: false, error: { kind: "invalid_input" } });
    expect(bad.ok === false && bad.error.message).toMatch(/invalid params for container.run/);
    expect(handler.calls).toEqual([]);

    const missing = newContainerId();
    conn.send({
      type: "command",
      id: "nf",
      name: "container.stop",
      params: { containerId: missing },
    });
    expect(await resultOf(conn, "nf")).toMatchObject({
      ok: false,
      error: { kind: "not_found", message: `no container ${missing}` },
    });

    const id = newContainerId();
    handler.containers.set(id, statusOf(id, "x1", "running"));
    conn.send({
      type: "command",
      id: "boom",
      name: "container.stop",
      params: { containerId: id, timeoutSeconds: 999 },
    });
    expect(await resultOf(conn, "boom")).toMatchObject({
      ok: false,
      error: { kind: "internal", message: "boom: not a domain error" },
    });
  });

  it("dispatches container.update and container.stats; an empty update is invalid_input", async () => {
    const { conn, handler } = await connected();
    const id = newContainerId();
    handler.containers.set(id, statusOf(id, "lim", "running"));
    conn.send({
      type: "command",
      id: "c-update",
      name: "container.update",
      params: { containerId: id, limits: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 9 } },
    });
    expect(await resultOf(conn, "c-update")).toMatchObject({ ok: true, data: { id } });
    expect(handler.calls.find((c) => c.method === "update")?.args).toEqual({
      containerId: id,
      limits: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 9 },
    });
    conn.send({
      type: "command",
      id: "c-empty",
      name: "container.update",
      params: { containerId: id, limits: {} },
    });
    const empty = await resultOf(conn, "c-empty");
    expect(empty).toMatchObject({ ok: false, error: { kind: "invalid_input" } });
    expect(empty.ok === false && empty.error.message).toMatch(/at least one limit/);
    conn.send({
      type: "command",
      id: "c-stats",
      name: "container.stats",
      params: { containerId: id },
    });
    expect(await resultOf(conn, "c-stats")).toMatchObject({
      ok: true,
      data: { id, name: "lim", pids: { current: 0 } },
    });
    expect(handler.calls.filter((c) => c.method === "update")).toHaveLength(1);
    expect(handler.calls.find((c) => c.method === "stats")?.args).toBe(id);
  });

  it("runs a repeated command id once and answers every delivery with the first result", async () => {
    const handler = new RecordingHandler();
    let open!: () => void;
    handler.runGate = new Promise((r) => (open = r));
    const { conn } = await connected(handler);
    const id = newContainerId();
    const cmd = { type: "command", id: "dup-1", name: "container.run", params: runParams(id) };
    conn.send(cmd);
    conn.send(cmd); // while the first is still running
    await new Promise((r) => setTimeout(r, 50));
    open();
    await conn.waitFor(
      () => conn.frames.filter((f) => f.type === "result" && f.id === "dup-1").length === 2,
    );
    conn.send(cmd); // after it finished
    await conn.waitFor(
      () => conn.frames.filter((f) => f.type === "result" && f.id === "dup-1").length === 3,
    );
    const results = conn.frames.filter((f) => f.type === "result" && f.id === "dup-1");
    expect(handler.calls.filter((c) => c.method === "run")).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: true, data: { id } });
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("answers invalid frames with an error frame and keeps the connection up", async () => {
    const { conn, client } = await connected();
    conn.sendRaw("{not json");
    conn.sendRaw(JSON.stringify({ type: "bogus" }));
    conn.sendRaw(
      JSON.stringify({ type: "command", id: "c-unknown", name: "container.explode", params: {} }),
    );
    conn.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await conn.waitFor(() => conn.frames.filter((f) => f.type === "error").length === 4);
    const errors = conn.frames.filter((f): f is Frame<"error"> => f.type === "error");
    expect(errors.map((e) => e.error.kind)).toEqual([
      "invalid_input",
      "invalid_input",
      "invalid_input",
      "invalid_input",
    ]);
    expect(errors[0]!.error.message).toMatch(/not valid JSON/);
    expect(errors[1]!.ref).toBe("bogus");
    expect(errors[2]!.ref).toBe("c-unknown");
    // Same socket still serves commands.
    conn.send({ type: "command", id: "after", name: "image.list", params: {} });
    expect(await resultOf(conn, "after")).toMatchObject({ ok: true });
    expect(server.conns).toHaveLength(1);
    expect(client.connected).toBe(true);
  });
});

describe("AgentClient streams", () => {
  const line = (i: number, text = `line ${i}`): LogLine => ({
    ts: `2025-01-01T00:00:00.${String(i).padStart(9, "0")}Z`,
    stream: "stdout",
    line: text,
    full: true,
  });

  it("streams every line in order, batched into frames of ~streamBatchBytes, then stream_end", async () => {
    const handler = new RecordingHandler();
    const id = newContainerId();
    const sent: LogLine[] = [];
    handler.logsImpl = async (_p, _signal, onChunk) => {
      for (let c = 0; c < 20; c++) {
        const chunk = Array.from({ length: 100 }, (_, i) => line(c * 100 + i, "x".repeat(500)));
        sent.push(...chunk);
        await onChunk(chunk);
      }
    };
    const { conn } = await connected(handler, { streamBatchBytes: 64 * 1024 });
    conn.send({
      type: "command",
      id: "logs-1",
      name: "container.logs",
      params: { containerId: id, tail: 10 },
    });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "logs-1");
    expect(handler.calls[0]).toEqual({
      method: "logs",
      args: { containerId: id, follow: false, tail: 10 },
    });
    const frames = conn.frames.filter(
      (f): f is Frame<"stream"> => f.type === "stream" && f.id === "logs-1",
    );
    const got = frames.flatMap((f) => (f.data as { lines: LogLine[] }).lines);
    expect(got).toEqual(sent);
    expect(frames.length).toBeGreaterThanOrEqual(15); // ≈1.1 MB of lines in 64 KiB frames
    for (const f of frames)
      expect(Buffer.byteLength(JSON.stringify(f))).toBeLessThan(64 * 1024 + 2048);
    const end = conn.frames.find((f) => f.type === "stream_end" && f.id === "logs-1")!;
    expect(conn.frames.indexOf(end)).toBeGreaterThan(conn.frames.indexOf(frames.at(-1)!));
    expect(end).toEqual({ type: "stream_end", id: "logs-1" });
  });

  it("aborts a following stream on cancel and ends it; a failing stream ends with its error", async () => {
    const handler = new RecordingHandler();
    let sawAbort = false;
    handler.logsImpl = async (p, signal, onChunk) => {
      if (!p.follow) throw new DomainError("not_found", "no such container");
      let i = 0;
      while (!signal.aborted) {
        await onChunk([line(i++)]);
        await new Promise((r) => setTimeout(r, 5));
      }
      sawAbort = true;
    };
    const { conn } = await connected(handler);
    const id = newContainerId();
    conn.send({
      type: "command",
      id: "follow-1",
      name: "container.logs",
      params: { containerId: id, follow: true },
    });
    await conn.waitFor(
      () => conn.frames.filter((f) => f.type === "stream" && f.id === "follow-1").length >= 3,
    );
    conn.send({ type: "cancel", id: "follow-1" });
    const end = await conn.waitFor((f) => f.type === "stream_end" && f.id === "follow-1");
    expect(end).toEqual({ type: "stream_end", id: "follow-1" });
    expect(sawAbort).toBe(true);
    const countAtEnd = conn.frames.filter((f) => f.type === "stream" && f.id === "follow-1").length;
    await new Promise((r) => setTimeout(r, 60));
    expect(conn.frames.filter((f) => f.type === "stream" && f.id === "follow-1").length).toBe(
      countAtEnd,
    );

    conn.send({ type: "command", id: "gone", name: "container.logs", params: { containerId: id } });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "gone")).toEqual({
      type: "stream_end",
      id: "gone",
      error: { kind: "not_found", message: "no such container" },
    });
    // A stream id that already ran is not run again.
    conn.send({ type: "command", id: "gone", name: "container.logs", params: { containerId: id } });
    await conn.waitFor(
      () => conn.frames.filter((f) => f.type === "stream_end" && f.id === "gone").length === 2,
    );
    expect(conn.frames.filter((f) => f.type === "stream_end" && f.id === "gone")[1]).toMatchObject({
      error: { kind: "conflict" },
    });
    expect(handler.calls.filter((c) => c.method === "logs")).toHaveLength(2);
  });

  it("applies back-pressure: a producer awaiting onChunk stalls while the server does not read", async () => {
    const handler = new RecordingHandler();
    let produced = 0;
    const total = 400; // × 64 KiB ≈ 25 MiB
    handler.logsImpl = async (_p, signal, onChunk) => {
      for (let i = 0; i < total && !signal.aborted; i++) {
        await onChunk([line(i, "y".repeat(64 * 1024 - 200))]);
        produced++;
      }
    };
    const { conn } = await connected(handler, {
      highWaterBytes: 256 * 1024,
      streamBatchBytes: 64 * 1024,
    });
    const sock = (conn.ws as unknown as { _socket: Socket })._socket;
    sock.pause(); // the server stops reading: the kernel buffers fill, then bufferedAmount grows
    conn.send({
      type: "command",
      id: "bp",
      name: "container.logs",
      params: { containerId: newContainerId() },
    });
    await new Promise((r) => setTimeout(r, 400));
    const stalledAt = produced;
    await new Promise((r) => setTimeout(r, 200));
    expect(stalledAt).toBeLessThan(total / 2); // ≈ socket buffers + high-water mark, not the whole stream
    expect(produced).toBe(stalledAt); // not advancing while paused
    expect(produced).toBeLessThan(total);
    sock.resume();
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "bp", 15_000);
    expect(produced).toBe(total);
    const lines = conn.frames
      .filter((f): f is Frame<"stream"> => f.type === "stream" && f.id === "bp")
      .flatMap((f) => (f.data as { lines: LogLine[] }).lines);
    expect(lines).toHaveLength(total);
  }, 20_000);
});

describe("AgentClient events and outbox", () => {
  const exited = (id: string) => ({ ...statusOf(id, "job", "exited"), exitCode: 3 });

  it("persists events, resends unacked ones after a restart, drops them once acked, and keeps seq monotonic", async () => {
    const a = newContainerId();
    const b = newContainerId();
    const c = newContainerId();
    // Agent #1: the server never acks.
    const h1 = new RecordingHandler();
    const first = await connected(h1);
    h1.emit("container.started", statusOf(a, "job", "running"));
    h1.emit("container.exited", exited(a));
    h1.emit("container.removed", { id: a });
    await first.conn.waitFor(
      () => first.conn.frames.filter((f) => f.type === "event").length === 3,
    );
    expect(
      first.conn.frames
        .filter((f): f is Frame<"event"> => f.type === "event")
        .map((e) => [e.seq, e.name]),
    ).toEqual([
      [1, "container.started"],
      [2, "container.exited"],
      [3, "container.removed"],
    ]);
    await first.client.close();
    first.outbox.close();
    const lines = readFileSync(join(dir, OUTBOX_FILE), "utf8").trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3]);

    // While no agent runs, the server stored seq 1 (ackedSeq in welcome). Agent #2 starts.
    server.autoWelcome = { ackedSeq: 1 };
    const h2 = new RecordingHandler();
    const second = startClient(h2);
    const conn2 = await server.connection(2);
    await conn2.waitFor(() => conn2.frames.filter((f) => f.type === "event").length === 2);
    const resent = conn2.frames.filter((f): f is Frame<"event"> => f.type === "event");
    expect(resent.map((e) => e.seq)).toEqual([2, 3]);
    expect(resent[0]).toMatchObject({ name: "container.exited", data: exited(a) });
    conn2.send({ type: "ack", seq: 3 });
    await withTimeout(
      (async () => {
        while (second.outbox.size > 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      3000,
      "ack",
    );
    expect(readFileSync(join(dir, OUTBOX_FILE), "utf8")).toBe("");
    // A new event continues the numbering.
    h2.emit("container.started", statusOf(b, "job2", "running"));
    expect(await conn2.waitFor((f) => f.type === "event" && f.seq === 4)).toMatchObject({
      name: "container.started",
    });
    await second.client.close();
    second.outbox.close();

    // Agent #3 (everything acked up to 3, 4 not acked): seq keeps growing from the file.
    server.autoWelcome = { ackedSeq: 4 };
    const h3 = new RecordingHandler();
    const third = startClient(h3);
    const conn3 = await server.connection(3);
    await withTimeout(third.client.whenConnected(), 3000, "welcome");
    h3.emit("container.removed", { id: c });
    const ev = await conn3.waitFor<Frame<"event">>((f) => f.type === "event");
    expect(ev.seq).toBe(5);
    expect(conn3.frames.filter((f) => f.type === "event")).toHaveLength(1);
  });

  it("keeps events emitted while disconnected and delivers them, in order, after reconnecting", async () => {
    const h = new RecordingHandler();
    const { conn, outbox } = await connected(h);
    conn.ws.terminate(); // the server drops us
    await withTimeout(conn.closed, 2000, "close");
    const id = newContainerId();
    h.emit("container.started", statusOf(id, "w", "running"));
    h.emit("container.exited", exited(id));
    expect(outbox.size).toBe(2);
    const conn2 = await server.connection(2);
    await conn2.waitFor(() => conn2.frames.filter((f) => f.type === "event").length === 2);
    expect(
      conn2.frames.filter((f): f is Frame<"event"> => f.type === "event").map((e) => e.name),
    ).toEqual(["container.started", "container.exited"]);
    // The hello on reconnect carries the inventory again (empty here), before any event.
    expect(conn2.frames[0]?.type).toBe("hello");
  });

  it("drops events the engine emits with invalid data, logging an error", async () => {
    const h = new RecordingHandler();
    const { log, outbox } = await connected(h);
    h.emit("container.removed", { id: "not-a-container-id" });
    expect(outbox.size).toBe(0);
    expect(log.records.some((r) => r.level === "error" && r.msg.includes("invalid event"))).toBe(
      true,
    );
  });
});

describe("AgentClient reconnects", () => {
  it("reconnects with exponential backoff after the server drops the connection", async () => {
    const { conn } = await connected(new RecordingHandler());
    conn.ws.terminate();
    const c2 = await server.connection(2);
    await c2.waitFor((f) => f.type === "hello");
    c2.ws.terminate();
    const c3 = await server.connection(3);
    await c3.waitFor((f) => f.type === "hello");
    c3.ws.terminate();
    const c4 = await server.connection(4);
    await c4.waitFor((f) => f.type === "hello");
    // random()=1 ⇒ delays 40, 80, 160 ms (+ connection time).
    const gap2 = c2.openedAt - conn.openedAt;
    const gap3 = c3.openedAt - c2.openedAt;
    const gap4 = c4.openedAt - c3.openedAt;
    expect(gap2).toBeGreaterThanOrEqual(35);
    expect(gap3).toBeGreaterThanOrEqual(75);
    expect(gap4).toBeGreaterThanOrEqual(155);
    expect(gap4).toBeLessThan(2000);
  });

  it("keeps dialling while the server is down and connects when it comes back", async () => {
    const port = server.port;
    await server.close();
    const { client, log } = startClient(new RecordingHandler());
    // Polled, not a fixed sleep: on a loaded machine two attempts may take longer than a guess.
    await expect
      .poll(
        () => log.records.filter((r) => r.msg === "cannot connect to the server: retrying").length,
        { timeout: 4000 },
      )
      .toBeGreaterThanOrEqual(2);
    server = new ProtocolTestServer();
    await server.listen(port);
    await withTimeout(client.whenConnected(), 3000, "reconnect");
    expect(client.connected).toBe(true);
  });

  it("detects a server that stopped answering pings and reconnects", async () => {
    server.autoWelcome = { heartbeatIntervalMs: 500 };
    const { conn } = await connected(new RecordingHandler());
    await conn.waitFor((f) => f.type === "heartbeat", 2000);
    // Freeze the server side of the socket: no pongs come back.
    (conn.ws as unknown as { _socket: Socket })._socket.pause();
    const c2 = await server.connection(2, 5000);
    await c2.waitFor((f) => f.type === "hello");
  }, 10_000);
});
