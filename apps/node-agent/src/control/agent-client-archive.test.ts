/**
 * `image.save`, `image.load` and `image.import` in the protocol client: a real `ws` server on
 * 127.0.0.1 plays berth-server and a RecordingHandler stands in for the engine (the real
 * archive code is tested in images/archive.test.ts and end to end in
 * containers/image-archive.integration.test.ts). Save bytes arrive as base64 chunks within the
 * size limit; upload bytes reach the engine in order with `{received}` acknowledgements, then
 * `{loaded}`; a server that ignores the window fails the stream.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  IMAGE_SAVE_CHUNK_BYTES,
  IMAGE_SAVE_WINDOW_BYTES,
  IMAGE_UPLOAD_WINDOW_BYTES,
} from "@berth/core";
import { useConnectedClient } from "./test-helpers/connected-client";
import { RecordingHandler } from "./test-helpers/recording-handler";

const { connected } = useConnectedClient("berth-agent-archive-");

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("image archives over the protocol", () => {
  it("image.save: the engine's bytes as base64 chunks of at most IMAGE_SAVE_CHUNK_BYTES", async () => {
    const handler = new RecordingHandler();
    const payload = Buffer.alloc(IMAGE_SAVE_CHUNK_BYTES * 2 + 1234);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    handler.saveImpl = async (_p, _signal, onChunk) => {
      await onChunk(payload.subarray(0, 1000));
      await onChunk(payload.subarray(1000));
    };
    const conn = await connected(handler);
    conn.send({ type: "command", id: "save-1", name: "image.save", params: { refs: ["busybox"] } });
    const end = await conn.waitFor((f) => f.type === "stream_end" && f.id === "save-1");
    expect(end).toEqual({ type: "stream_end", id: "save-1" });
    const parts = conn.frames.flatMap((f) =>
      f.type === "stream" && f.id === "save-1"
        ? [Buffer.from((f.data as { data: string }).data, "base64")]
        : [],
    );
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThanOrEqual(IMAGE_SAVE_CHUNK_BYTES);
    expect(sha(Buffer.concat(parts))).toBe(sha(payload));
    expect(handler.calls.find((c) => c.method === "imageSave")?.args).toEqual({
      refs: ["busybox"],
    });
  });

  it("image.save: stays within the window until the server acknowledges", async () => {
    const handler = new RecordingHandler();
    const total = IMAGE_SAVE_WINDOW_BYTES + 4 * IMAGE_SAVE_CHUNK_BYTES;
    let produced = 0;
    handler.saveImpl = async (_p, _signal, onChunk) => {
      while (produced < total) {
        await onChunk(Buffer.alloc(IMAGE_SAVE_CHUNK_BYTES, 1));
        produced += IMAGE_SAVE_CHUNK_BYTES;
      }
    };
    const conn = await connected(handler);
    conn.send({ type: "command", id: "save-w", name: "image.save", params: { refs: ["busybox"] } });
    const received = () =>
      conn.frames.filter((f) => f.type === "stream" && f.id === "save-w").length *
      IMAGE_SAVE_CHUNK_BYTES;
    await conn.waitFor(
      (f) => f.type === "stream" && f.id === "save-w" && received() >= IMAGE_SAVE_WINDOW_BYTES,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(received()).toBe(IMAGE_SAVE_WINDOW_BYTES);
    expect(conn.frames.some((f) => f.type === "stream_end" && f.id === "save-w")).toBe(false);
    conn.send({ type: "stream_input", id: "save-w", ack: IMAGE_SAVE_WINDOW_BYTES });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "save-w");
    expect(received()).toBe(total);
  });

  it("image.load: stream_input bytes reach the engine in order, acknowledged, then {loaded}", async () => {
    const handler = new RecordingHandler();
    let got = Buffer.alloc(0);
    handler.uploadImpl = async (input) => {
      const chunks: Buffer[] = [];
      for await (const c of input) chunks.push(c as Buffer);
      got = Buffer.concat(chunks);
      return { loaded: [{ ref: "busybox:latest", digest: `sha256:${"b".repeat(64)}` }] };
    };
    const conn = await connected(handler);
    conn.send({ type: "command", id: "load-1", name: "image.load", params: {} });
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
    for (let i = 0; i < payload.length; i += 64 * 1024)
      conn.send({
        type: "stream_input",
        id: "load-1",
        data: payload.subarray(i, i + 64 * 1024).toString("base64"),
      });
    conn.send({ type: "stream_input", id: "load-1", eof: true });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "load-1");
    const chunks = conn.frames.flatMap((f) =>
      f.type === "stream" && f.id === "load-1" ? [f.data as Record<string, unknown>] : [],
    );
    const received = chunks.flatMap((c) => (typeof c.received === "number" ? [c.received] : []));
    expect(received.length).toBeGreaterThanOrEqual(3);
    expect(received.at(-1)).toBe(payload.length);
    expect([...received].sort((a, b) => a - b)).toEqual(received);
    expect(chunks.at(-1)).toEqual({
      loaded: [{ ref: "busybox:latest", digest: `sha256:${"b".repeat(64)}` }],
    });
    expect(sha(got)).toBe(sha(payload));
  });

  it("image.import: params validated; an engine error ends the stream with it", async () => {
    const handler = new RecordingHandler();
    handler.uploadImpl = async (input) => {
      for await (const _ of input) break;
      throw Object.assign(new Error("layer entry escapes the root: ../x"), {});
    };
    const conn = await connected(handler);
    conn.send({
      type: "command",
      id: "imp-bad",
      name: "image.import",
      params: { ref: "NOT VALID" },
    });
    const bad = await conn.waitFor((f) => f.type === "stream_end" && f.id === "imp-bad");
    expect(bad).toMatchObject({ error: { kind: "invalid_input" } });
    conn.send({
      type: "command",
      id: "imp-1",
      name: "image.import",
      params: { ref: "example/rootfs:1", changes: { cmd: ["sh"] } },
    });
    conn.send({ type: "stream_input", id: "imp-1", data: Buffer.from("x").toString("base64") });
    const end = await conn.waitFor((f) => f.type === "stream_end" && f.id === "imp-1");
    expect(end).toMatchObject({ error: { message: "layer entry escapes the root: ../x" } });
    expect(handler.calls.find((c) => c.method === "imageImport")?.args).toEqual({
      ref: "example/rootfs:1",
      changes: { cmd: ["sh"] },
    });
  });

  it("fails an upload whose server ignores the flow-control window", async () => {
    const handler = new RecordingHandler();
    handler.uploadImpl = async (input) => {
      // never reads: everything the server sends queues up
      await new Promise((_, reject) => input.on("error", reject));
      return { loaded: [] };
    };
    const conn = await connected(handler);
    conn.send({ type: "command", id: "flood", name: "image.load", params: {} });
    const chunk = Buffer.alloc(64 * 1024).toString("base64");
    for (let sent = 0; sent < IMAGE_UPLOAD_WINDOW_BYTES * 2; sent += 64 * 1024)
      conn.send({ type: "stream_input", id: "flood", data: chunk });
    const end = await conn.waitFor((f) => f.type === "stream_end" && f.id === "flood");
    expect(end).toMatchObject({
      error: { kind: "invalid_input", message: expect.stringMatching(/ahead of the agent/) },
    });
  });
});
