/**
 * The protocol client's packed log stream (`container.logs` with `packed: true`): a real `ws`
 * server on 127.0.0.1 plays berth-server and a RecordingHandler stands in for the engine (the
 * file reading is tested in monitor/k8s-log.test.ts). Every line arrives once, in order, in
 * `{packed}` frames of about streamBatchBytes; long lines are split; `timestamps: false` drops
 * the times; `stats.history` is dispatched.
 */
import { describe, expect, it } from "vitest";
import {
  LOG_FLOW_WINDOW,
  LogTextSchema,
  logTextWeight,
  PackedLogsSchema,
  packedWeight,
  newContainerId,
  unpackLogLines,
  type LogLine,
  type LogText,
  type PackedLogs,
} from "@berth/core";
import { streamData, useConnectedClient } from "./test-helpers/connected-client";
import type { ServerConn } from "./test-helpers/protocol-server";
import { RecordingHandler } from "./test-helpers/recording-handler";

const { connected } = useConnectedClient("berth-agent-logs-");

const line = (i: number, text: string, stream: LogLine["stream"] = "stdout"): LogLine => ({
  ts: `2026-01-01T00:00:00.${String(i).padStart(9, "0")}Z`,
  stream,
  line: text,
  full: true,
});

/** The weight the agent sent once it stopped sending (no acks): polled until it holds still. */
async function stalledAt(weightOf: () => number): Promise<number> {
  let stalled = -1;
  for (let i = 0; i < 50 && (stalled <= 0 || weightOf() !== stalled); i++) {
    stalled = weightOf();
    await new Promise((r) => setTimeout(r, 300));
  }
  return stalled;
}

/** Acknowledges what arrived on stream `id` until it ends. */
async function ackUntilEnd(conn: ServerConn, id: string, weightOf: () => number): Promise<void> {
  while (!conn.frames.some((f) => f.type === "stream_end" && f.id === id)) {
    conn.send({ type: "stream_input", id, ack: weightOf() });
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("packed container.logs over the protocol", () => {
  it("sends every line once, in order, as {packed} frames of about streamBatchBytes", async () => {
    const handler = new RecordingHandler();
    const sent: LogLine[] = [];
    handler.logsImpl = async (_p, _signal, onChunk) => {
      for (let c = 0; c < 50; c++) {
        const chunk = Array.from({ length: 1000 }, (_, i) =>
          line(c * 1000 + i, `line ${c * 1000 + i}`, i % 7 === 0 ? "stderr" : "stdout"),
        );
        sent.push(...chunk);
        await onChunk(chunk);
      }
      // One line longer than a frame part: split into partial lines.
      const long = line(99_999, "y".repeat(150 * 1024));
      sent.push(long);
      await onChunk([long]);
    };
    const conn = await connected(handler); // default streamBatchBytes: 256 KiB
    const id = newContainerId();
    conn.send({
      type: "command",
      id: "logs-p",
      name: "container.logs",
      params: { containerId: id, packed: true },
    });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "logs-p");
    const data = streamData(conn.frames, "logs-p") as { packed: PackedLogs }[];
    expect(data.length).toBeGreaterThanOrEqual(8); // ≈2.3 MB in frames of ≈256 KiB
    const got = data.flatMap((d) => unpackLogLines(PackedLogsSchema.parse(d.packed)));
    const whole = got.slice(0, 50_000);
    expect(whole).toEqual(sent.slice(0, 50_000));
    // The long line: parts of 64 Ki characters, the last one full.
    const parts = got.slice(50_000);
    expect(parts.map((p) => p.full)).toEqual([false, false, true]);
    expect(parts.map((p) => p.line).join("")).toBe(sent.at(-1)!.line);
    for (const d of data) expect(JSON.stringify(d).length).toBeLessThan(256 * 1024 + 70 * 1024);
  });

  it("leaves the times out with timestamps: false", async () => {
    const handler = new RecordingHandler();
    handler.logsImpl = async (_p, _signal, onChunk) => {
      await onChunk([line(1, "a"), line(2, "b", "stderr")]);
    };
    const conn = await connected(handler);
    conn.send({
      type: "command",
      id: "logs-t",
      name: "container.logs",
      params: { containerId: newContainerId(), packed: true, timestamps: false },
    });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "logs-t");
    expect(streamData(conn.frames, "logs-t")).toEqual([
      { packed: { n: 2, streams: "oe", text: "a\nb" } },
    ]);
  });

  it("with flow: stops LOG_FLOW_WINDOW ahead of the server's acks and resumes on ack", async () => {
    const handler = new RecordingHandler();
    const text = "z".repeat(100);
    let produced = 0;
    handler.logsImpl = async (_p, signal, onChunk) => {
      for (let c = 0; c < 250 && !signal.aborted; c++) {
        await onChunk(Array.from({ length: 1000 }, (_, i) => line(c * 1000 + i, text)));
        produced += 1000;
      }
    };
    const conn = await connected(handler);
    conn.send({
      type: "command",
      id: "logs-f",
      name: "container.logs",
      params: { containerId: newContainerId(), packed: true, timestamps: false, flow: true },
    });
    const weightOf = () =>
      (streamData(conn.frames, "logs-f") as { packed: PackedLogs }[]).reduce(
        (a, d) => a + packedWeight(d.packed),
        0,
      );
    // Without acks the agent stops about a window ahead (≈25 MB were to come).
    const stalled = await stalledAt(weightOf);
    expect(stalled).toBeGreaterThan(LOG_FLOW_WINDOW - 512 * 1024);
    expect(stalled).toBeLessThan(LOG_FLOW_WINDOW + 1024 * 1024);
    expect(produced).toBeLessThan(250_000);
    // Acknowledge what arrived until the end: everything comes, in order.
    await ackUntilEnd(conn, "logs-f", weightOf);
    const got = (streamData(conn.frames, "logs-f") as { packed: PackedLogs }[]).flatMap((d) =>
      unpackLogLines(d.packed),
    );
    expect(got).toHaveLength(250_000);
    expect(got.every((l) => l.line === text)).toBe(true);
  });

  it("with text (no times, flow): sends the handler's text batches, within the window", async () => {
    const handler = new RecordingHandler();
    const batch: LogText = { n: 1000, runs: "o", ends: [100_000], text: "t".repeat(100_000) };
    let produced = 0;
    const withText = Object.assign(handler, {
      logsText: async (
        _p: unknown,
        signal: AbortSignal,
        onBatch: (b: LogText) => void | Promise<void>,
      ) => {
        for (let c = 0; c < 200 && !signal.aborted; c++) {
          await onBatch(batch);
          produced++;
        }
      },
    });
    const conn = await connected(withText);
    const params = { containerId: newContainerId(), packed: true, timestamps: false, flow: true };
    conn.send({
      type: "command",
      id: "logs-x",
      name: "container.logs",
      params: { ...params, text: true },
    });
    const weightOf = () =>
      (streamData(conn.frames, "logs-x") as { text: LogText }[]).reduce(
        (a, d) => a + logTextWeight(LogTextSchema.parse(d.text)),
        0,
      );
    const stalled = await stalledAt(weightOf);
    expect(stalled).toBeGreaterThan(LOG_FLOW_WINDOW - 512 * 1024);
    expect(stalled).toBeLessThan(LOG_FLOW_WINDOW + 1024 * 1024);
    expect(produced).toBeLessThan(200);
    await ackUntilEnd(conn, "logs-x", weightOf);
    const data = streamData(conn.frames, "logs-x") as { text: LogText }[];
    expect(data).toHaveLength(200);
    expect(data.every((d) => d.text.text === batch.text)).toBe(true);

    // Without flow control (or with times) the same request gets packed lines from logs().
    handler.logsImpl = async (_p, _signal, onChunk) => {
      await onChunk([line(1, "a")]);
    };
    conn.send({
      type: "command",
      id: "logs-y",
      name: "container.logs",
      params: { ...params, flow: false, text: true },
    });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "logs-y");
    expect(streamData(conn.frames, "logs-y")).toEqual([
      { packed: { n: 1, streams: "o", text: "a" } },
    ]);
  });

  it("answers stats.history through the handler", async () => {
    const handler = new RecordingHandler();
    const conn = await connected(handler);
    conn.send({ type: "command", id: "h-1", name: "stats.history", params: {} });
    const r = await conn.waitFor((f) => f.type === "result" && f.id === "h-1");
    expect(r).toMatchObject({ ok: true, data: { intervalMs: 5000, points: [] } });
    expect(handler.calls).toContainEqual({ method: "statsHistory", args: {} });
  });
});
