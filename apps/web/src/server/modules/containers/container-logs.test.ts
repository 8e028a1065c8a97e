/**
 * containers.logs (search, stream filter, packed batches), the log download route's parsing and
 * text, containers.statsHistory / nodes.statsHistory, and the permissions (logs.read for logs,
 * container.exec for the terminal, stats.read for stats), through the real tRPC caller, gateway
 * and a WebSocket on 127.0.0.1 with the protocol test peer playing the agent.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  logTextFromPacked,
  logTextWeight,
  packedWeight,
  packLogLines,
  type LogLine,
  type LogText,
} from "@berth/core";
import { usePeerTest } from "../../testing/connected-peer";
import { addUser, collect, insertContainer, type Fixture } from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";
import { startTestServer } from "../../testing/test-server";
import { formatLogText, logDownloadInput, logDownloadRef } from "./container-logs.http";

const SERVER_ID = "testserverid2345678901234L";

const lines: LogLine[] = [
  { ts: "2026-01-01T00:00:01Z", stream: "stdout", line: "hello error", full: true },
  { ts: "2026-01-01T00:00:02Z", stream: "stderr", line: "par", full: false },
  { ts: "2026-01-01T00:00:03Z", stream: "stderr", line: "tial", full: true },
];

describe("containers.logs, statsHistory and their permissions", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let peer: ProtocolPeer;
  let nodeId: string;
  beforeEach(() => {
    ({ f, peer, nodeId } = t);
  });
  const callerFor = (userId: string) => t.callerFor(userId);

  it("asks the agent for a packed, filtered read and hands {lines} or {packed} on", async () => {
    const id = insertContainer(f, nodeId, "web");
    const grep = { pattern: "err", regex: false, ignoreCase: true };
    const plain = collect(
      await callerFor(f.adminId).containers.logs({ ref: "web", stream: "stderr", grep, tail: 5 }),
    );
    const cmd = await peer.next("command", (c) => c.name === "container.logs");
    expect(cmd.params).toEqual({
      containerId: id,
      follow: false,
      packed: true,
      flow: true,
      tail: 5,
      stream: "stderr",
      grep,
    });
    peer.send({ type: "stream", id: cmd.id, data: { packed: packLogLines(lines) } });
    peer.send({ type: "stream_end", id: cmd.id });
    expect(await plain).toEqual([{ lines }]);

    // A packed reader without times: the agent is asked for none, and an older agent's
    // {lines} answer is packed on the way.
    const packed = collect(
      await callerFor(f.adminId).containers.logs({ ref: "web", packed: true, timestamps: false }),
    );
    const cmd2 = await peer.next("command", (c) => c.name === "container.logs" && c.id !== cmd.id);
    expect(cmd2.params).toMatchObject({ packed: true, timestamps: false });
    peer.send({ type: "stream", id: cmd2.id, data: { lines } });
    peer.send({ type: "stream_end", id: cmd2.id });
    expect(await packed).toEqual([{ packed: packLogLines(lines) }]);
  });

  it("acknowledges what its reader took, so the agent stays within its window", async () => {
    insertContainer(f, nodeId, "web");
    const sub = await callerFor(f.adminId).containers.logs({ ref: "web", packed: true });
    const it = sub[Symbol.asyncIterator]();
    const first = it.next();
    const cmd = await peer.next("command", (c) => c.name === "container.logs");
    const big = packLogLines(
      Array.from({ length: 3 }, (_, i) => ({
        ts: `2026-01-01T00:00:0${i}Z`,
        stream: "stdout" as const,
        line: "x".repeat(300 * 1024),
        full: true,
      })),
    );
    peer.send({ type: "stream", id: cmd.id, data: { packed: big } });
    peer.send({ type: "stream", id: cmd.id, data: { packed: big } });
    expect((await first).value).toEqual({ packed: big });
    // Nothing is acknowledged before the reader asks for more; then what it took is.
    const second = it.next();
    const ack1 = await peer.next("stream_input", (s) => s.id === cmd.id);
    expect(ack1).toMatchObject({ id: cmd.id, ack: packedWeight(big) });
    expect((await second).value).toEqual({ packed: big });
    void it.next();
    const ack2 = await peer.next("stream_input", (s) => s.id === cmd.id && s !== ack1);
    expect(ack2).toMatchObject({ id: cmd.id, ack: 2 * packedWeight(big) });
    peer.send({ type: "stream_end", id: cmd.id });
  });

  it("serves NDJSON batches and the text download over HTTP, with clean errors", async () => {
    const id = insertContainer(f, nodeId, "web");
    const server = await startTestServer(f, SERVER_ID);
    const base = `http://${server.base}`;
    const token = f.services.auth.createApiToken(f.adminId, "t").token;
    const get = (path: string) =>
      fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    try {
      const answer = async (expected: Record<string, unknown>) => {
        const cmd = await peer.next(
          "command",
          (c) => c.name === "container.logs" && !answered.has(c.id),
        );
        answered.add(cmd.id);
        expect(cmd.params).toMatchObject({ containerId: id, ...expected });
        peer.send({ type: "stream", id: cmd.id, data: { packed: packLogLines(lines) } });
        peer.send({ type: "stream_end", id: cmd.id });
      };
      const answered = new Set<string>();

      const stream = get("/api/containers/web/logs?grep=err&ignoreCase=1");
      await answer({ packed: true, timestamps: false, grep: { pattern: "err", ignoreCase: true } });
      const res = await stream;
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/x-ndjson");
      // Relayed as the agent sent it (this test agent ignores timestamps: false).
      const packed = packLogLines(lines);
      expect(
        (await res.text())
          .trimEnd()
          .split("\n")
          .map((l) => JSON.parse(l) as unknown),
      ).toEqual([{ packed }, { end: true }]);

      const download = get("/api/containers/web/logs/download?timestamps=1&stream=stderr");
      await answer({ stream: "stderr" });
      const text = await download;
      expect(text.headers.get("content-disposition")).toBe('attachment; filename="web.log"');
      expect(await text.text()).toBe(
        "2026-01-01T00:00:01Z hello error\n2026-01-01T00:00:02Z partial\n",
      );

      const missing = await get("/api/containers/nope/logs");
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { kind: "not_found" } });
      const anonymous = await fetch(`${base}/api/containers/web/logs/download`);
      expect(anonymous.status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it("relays {text} batches to the CLI and the download, converting an older agent's", async () => {
    const id = insertContainer(f, nodeId, "web");
    const server = await startTestServer(f, SERVER_ID);
    const base = `http://${server.base}`;
    const token = f.services.auth.createApiToken(f.adminId, "t").token;
    const get = (path: string) =>
      fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const seen = new Set<string>();
    const nextCmd = async () => {
      const cmd = await peer.next("command", (c) => c.name === "container.logs" && !seen.has(c.id));
      seen.add(cmd.id);
      return cmd;
    };
    const ndjson = async (res: Response) =>
      (await res.text())
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as unknown);
    const batch: LogText = { n: 3, runs: "oe", ends: [12, 20], text: "hello error\npartial\n" };
    try {
      // A current agent answers {text}: relayed as is, and acknowledged by its weight.
      const stream = get("/api/containers/web/logs?format=text&tail=3");
      const cmd = await nextCmd();
      expect(cmd.params).toEqual({
        containerId: id,
        follow: false,
        packed: true,
        flow: true,
        timestamps: false,
        text: true,
        tail: 3,
      });
      peer.send({ type: "stream", id: cmd.id, data: { text: batch } });
      peer.send({ type: "stream_end", id: cmd.id });
      expect(await ndjson(await stream)).toEqual([{ text: batch }, { end: true }]);

      // An older agent ignores `text` and answers packed: the same batch comes out.
      const old = get("/api/containers/web/logs?format=text");
      const cmd2 = await nextCmd();
      peer.send({ type: "stream", id: cmd2.id, data: { packed: packLogLines(lines) } });
      peer.send({ type: "stream_end", id: cmd2.id });
      expect(await ndjson(await old)).toEqual([
        { text: logTextFromPacked(packLogLines(lines)) },
        { end: true },
      ]);
      expect(logTextFromPacked(packLogLines(lines))).toEqual(batch);

      // With times the CLI gets packed batches, as before.
      const timed = get("/api/containers/web/logs?format=text&timestamps=1");
      const cmd3 = await nextCmd();
      expect(cmd3.params).not.toHaveProperty("text");
      peer.send({ type: "stream", id: cmd3.id, data: { packed: packLogLines(lines) } });
      peer.send({ type: "stream_end", id: cmd3.id });
      expect(await ndjson(await timed)).toEqual([{ packed: packLogLines(lines) }, { end: true }]);

      // A download without times is the text batches' text.
      const download = get("/api/containers/web/logs/download");
      const cmd4 = await nextCmd();
      expect(cmd4.params).toMatchObject({ text: true, timestamps: false, packed: true });
      peer.send({ type: "stream", id: cmd4.id, data: { text: batch } });
      peer.send({ type: "stream", id: cmd4.id, data: { packed: packLogLines(lines) } });
      peer.send({ type: "stream_end", id: cmd4.id });
      expect(await (await download).text()).toBe("hello error\npartial\n".repeat(2));
    } finally {
      await server.close();
    }
  });

  it("acknowledges {text} batches by their weight", async () => {
    insertContainer(f, nodeId, "web");
    const sub = await callerFor(f.adminId).containers.logs({
      ref: "web",
      packed: true,
      timestamps: false,
      text: true,
    });
    const it = sub[Symbol.asyncIterator]();
    const first = it.next();
    const cmd = await peer.next("command", (c) => c.name === "container.logs");
    expect(cmd.params).toMatchObject({ text: true, flow: true });
    const text = "y".repeat(600 * 1024);
    const big: LogText = { n: 1, runs: "o", ends: [text.length], text };
    peer.send({ type: "stream", id: cmd.id, data: { text: big } });
    expect((await first).value).toEqual({ text: big });
    void it.next();
    const ack = await peer.next("stream_input", (s) => s.id === cmd.id);
    expect(ack).toMatchObject({ id: cmd.id, ack: logTextWeight(big) });
    peer.send({ type: "stream_end", id: cmd.id });
  });

  it("refuses an invalid regular expression before asking the agent", async () => {
    insertContainer(f, nodeId, "web");
    await expect(
      callerFor(f.adminId).containers.logs({
        ref: "web",
        grep: { pattern: "(", regex: true, ignoreCase: false },
      }),
    ).rejects.toThrow(/invalid regular expression/);
  });

  it("viewers read logs and stats but may not open a terminal", async () => {
    const id = insertContainer(f, nodeId, "web");
    const viewer = callerFor(await addUser(f, "vic", { role: "viewer" }));
    const logs = collect(await viewer.containers.logs({ ref: "web" }));
    const cmd = await peer.next("command", (c) => c.name === "container.logs");
    peer.send({ type: "stream_end", id: cmd.id });
    expect(await logs).toEqual([]);

    const history = viewer.containers.statsHistory({ ref: "web", afterMs: 5 });
    const h = await peer.next("command", (c) => c.name === "stats.history");
    expect(h.params).toEqual({ containerId: id, afterMs: 5 });
    const point = {
      t: 10,
      cpuPercent: 12.5,
      memoryBytes: 1,
      memoryLimitBytes: null,
      netRxBps: 0,
      netTxBps: 0,
      ioReadBps: 0,
      ioWriteBps: 0,
      pids: 1,
    };
    peer.send({ type: "result", id: h.id, ok: true, data: { intervalMs: 5000, points: [point] } });
    expect(await history).toEqual({ intervalMs: 5000, points: [point] });

    const node = viewer.nodes.statsHistory({ ref: nodeId });
    const n = await peer.next("command", (c) => c.name === "stats.history" && c.id !== h.id);
    expect(n.params).toEqual({});
    peer.send({ type: "result", id: n.id, ok: true, data: { intervalMs: 5000, points: [] } });
    expect(await node).toEqual({ intervalMs: 5000, points: [] });

    await expect(viewer.containers.exec({ ref: "web", argv: ["sh"], tty: true })).rejects.toThrow(
      /container\.exec/,
    );
    await expect(
      viewer.containers.execInput({ sessionId: "x".repeat(32), data: "aGk=" }),
    ).rejects.toThrow(/container\.exec/);
  });
});

describe("log download route", () => {
  it("matches its path and parses its query like containers.logs", () => {
    expect(logDownloadRef("/api/containers/web%201/logs/download")).toBe("web 1");
    expect(logDownloadRef("/api/containers/web/logs")).toBeNull();
    const q = new URLSearchParams(
      "since=2026-01-01T00:00:00Z&stream=stderr&tail=10&grep=a.b&regex=1&timestamps=1",
    );
    expect(logDownloadInput("web", q)).toEqual({
      input: {
        ref: "web",
        follow: false,
        since: "2026-01-01T00:00:00Z",
        stream: "stderr",
        tail: 10,
        grep: { pattern: "a.b", regex: true, ignoreCase: false },
      },
      timestamps: true,
      text: false,
    });
    expect(logDownloadInput("web", new URLSearchParams("format=text")).text).toBe(true);
    expect(() => logDownloadInput("web", new URLSearchParams("stream=both"))).toThrow();
    expect(() => logDownloadInput("web", new URLSearchParams("since=yesterday"))).toThrow();
  });

  it("writes lines as text, joining partial lines, with times on request", () => {
    const state = { open: false };
    expect(formatLogText(lines.slice(0, 2), false, state)).toBe("hello error\npar");
    expect(formatLogText(lines.slice(2), false, state)).toBe("tial\n");
    expect(formatLogText(lines, true, { open: false })).toBe(
      "2026-01-01T00:00:01Z hello error\n2026-01-01T00:00:02Z partial\n",
    );
  });
});
