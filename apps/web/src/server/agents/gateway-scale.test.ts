/**
 * What keeps the gateway's cost per agent bounded, over a real HTTP + WebSocket server on
 * 127.0.0.1 with protocol-v1 test peers: heartbeats touch no database row, an agent that stops
 * reading is disconnected once its unsent bytes pass the bound (back-pressure), and the
 * commands one agent may have unanswered are capped.
 */
import type { Socket } from "node:net";
import { beforeEach, describe, expect, it } from "vitest";
import { newContainerId } from "@berth/core";
import { eq, nodes } from "@berth/db";
import { usePeerTest, type ConnectedPeer } from "../testing/connected-peer";
import type { Fixture } from "../testing/fixtures";
import { MAX_BUFFERED_BYTES, MAX_PENDING_COMMANDS } from "./gateway";

const SERVER_ID = "testserverid2345678901234a";

describe("gateway bounds", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let c: ConnectedPeer;
  beforeEach(() => {
    ({ f, connected: c } = t);
  });

  it("writes nothing to the database per heartbeat", async () => {
    const before = f.db.select().from(nodes).where(eq(nodes.id, c.nodeId)).get()!;
    const changes = () =>
      f.db.$client.prepare("select total_changes() as n").get() as { n: number };
    const n0 = changes().n;
    for (let i = 0; i < 50; i++) c.peer.send({ type: "heartbeat", ts: Date.now() });
    // a round trip after them: every heartbeat has been handled
    const listed = f.gateway.send(c.nodeId, "volume.list", {});
    const cmd = await c.peer.next("command");
    c.peer.send({ type: "result", id: cmd.id, ok: true, data: { volumes: [] } });
    await listed;
    expect(changes().n).toBe(n0);
    const after = f.db.select().from(nodes).where(eq(nodes.id, c.nodeId)).get()!;
    expect(after.lastSeenAt?.getTime()).toBe(before.lastSeenAt?.getTime());
  });

  it("caps the commands one agent may have unanswered", async () => {
    const waiting = Array.from({ length: MAX_PENDING_COMMANDS }, () =>
      f.gateway.send(c.nodeId, "volume.list", {}, { timeoutMs: 60_000 }).catch((e: Error) => e),
    );
    await expect(f.gateway.send(c.nodeId, "volume.list", {})).rejects.toMatchObject({
      kind: "unavailable",
      message: expect.stringMatching(/commands unanswered/),
    });
    c.peer.ws.terminate();
    const failed = await Promise.all(waiting);
    expect(failed.every((e) => e instanceof Error)).toBe(true);
  });

  it("counts open streams against the same cap: a stream past it is refused", async () => {
    const waiting = Array.from({ length: MAX_PENDING_COMMANDS - 1 }, () =>
      f.gateway.send(c.nodeId, "volume.list", {}, { timeoutMs: 60_000 }).catch((e: Error) => e),
    );
    // One stream fills the cap (pending + streams); the next stream is refused.
    const ac = new AbortController();
    const open = f.gateway.stream(c.nodeId, "image.pull", { ref: "busybox" }, ac.signal);
    const first = open.next().catch((e: Error) => e);
    await c.peer.next("command");
    const more = f.gateway.stream(c.nodeId, "image.pull", { ref: "alpine" });
    await expect(more.next()).rejects.toMatchObject({
      kind: "unavailable",
      message: expect.stringMatching(/commands and streams open/),
    });
    ac.abort();
    await first;
    c.peer.ws.terminate();
    const failed = await Promise.all(waiting);
    expect(failed.every((e) => e instanceof Error)).toBe(true);
  });

  it("disconnects an agent that stops reading once its unsent bytes pass the bound", async () => {
    // The peer stops reading its socket: the server's send buffer for it can only grow.
    (c.peer.ws as unknown as { _socket: Socket })._socket.pause();
    const chunk = "x".repeat(64 * 1024);
    const argv = Array.from({ length: 32 }, () => chunk); // ~2 MiB per command frame
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i * 2 * 1024 * 1024 < MAX_BUFFERED_BYTES + 64 * 1024 * 1024; i++) {
      if (!f.gateway.isOnline(c.nodeId)) break;
      sent.push(
        f.gateway
          .send(c.nodeId, "container.exec", { containerId: newContainerId(), argv })
          .catch((e: Error) => e),
      );
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(f.gateway.isOnline(c.nodeId)).toBe(false);
    const results = await Promise.all(sent);
    expect(results.every((e) => e instanceof Error)).toBe(true);
    expect(f.db.select().from(nodes).where(eq(nodes.id, c.nodeId)).get()!.status).toBe("offline");
  });
});
