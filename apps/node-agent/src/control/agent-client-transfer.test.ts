/**
 * The protocol client's `image.pull` / `image.push` streams: a real `ws` server on 127.0.0.1
 * plays berth-server, a RecordingHandler the engine (the registry side is tested for real in
 * containers/image-pull.integration.test.ts). Progress chunks, then `{digest, ref}`, then
 * `stream_end`; refusals; cancel aborts; the credential never reaches the log. Also the progress
 * batcher's throttle (images/transfer.ts).
 */
import { describe, expect, it } from "vitest";
import { DomainError } from "@berth/core";
import { ProgressBatcher } from "../images/transfer";
import type { TransferProgress } from "../images/registry/pull";
import { streamData, useConnectedClient } from "./test-helpers/connected-client";
import { RecordingHandler } from "./test-helpers/recording-handler";

const DIGEST = `sha256:${"e".repeat(64)}`;
const LAYER = `sha256:${"f".repeat(64)}` as TransferProgress["digest"];
const SECRET = "never-log-this-password";

const { connected, log } = useConnectedClient("berth-agent-xfer-");

const progress = (status: TransferProgress["status"], done: number): TransferProgress => ({
  digest: LAYER,
  kind: "layer",
  status,
  done,
  total: 10,
});

describe("image.pull / image.push over the protocol", () => {
  it("sends progress chunks, then {digest, ref}, then stream_end; never logs the credential", async () => {
    const handler = new RecordingHandler();
    handler.transferImpl = async (p, _signal, onChunk) => {
      await onChunk({ progress: [progress("downloading", 5)] });
      await onChunk({ progress: [progress("done", 10)] });
      return { digest: DIGEST, ref: p.ref };
    };
    const conn = await connected(handler);
    const credential = { username: "alice", password: SECRET };
    conn.send({
      type: "command",
      id: "pull-1",
      name: "image.pull",
      params: { ref: "127.0.0.1:5000/t/a:1", credential },
    });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "pull-1")).toEqual({
      type: "stream_end",
      id: "pull-1",
    });
    expect(handler.calls).toEqual([
      { method: "imagePull", args: { ref: "127.0.0.1:5000/t/a:1", credential } },
    ]);
    expect(streamData(conn.frames, "pull-1")).toEqual([
      { progress: [progress("downloading", 5)] },
      { progress: [progress("done", 10)] },
      { digest: DIGEST, ref: "127.0.0.1:5000/t/a:1" },
    ]);

    conn.send({
      type: "command",
      id: "push-1",
      name: "image.push",
      params: { source: "busybox", target: "127.0.0.1:5000/t/b:1", credential },
    });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "push-1");
    expect(handler.calls.at(-1)).toEqual({
      method: "imagePush",
      args: { source: "busybox", target: "127.0.0.1:5000/t/b:1", credential },
    });
    expect(streamData(conn.frames, "push-1").at(-1)).toEqual({
      digest: DIGEST,
      ref: "127.0.0.1:5000/t/b:1",
    });
    expect(JSON.stringify(log().records)).not.toContain(SECRET);
  });

  it("a refusal ends the stream with its error; bad params are refused; cancel aborts", async () => {
    const handler = new RecordingHandler();
    let aborted = false;
    handler.transferImpl = async (p, signal, onChunk) => {
      if (p.ref.includes("denied"))
        throw new DomainError("unauthenticated", `the credentials of "alice" were refused`);
      await onChunk({ progress: [progress("downloading", 1)] });
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      aborted = true;
      throw new Error("aborted");
    };
    const conn = await connected(handler);
    conn.send({
      type: "command",
      id: "p-2",
      name: "image.pull",
      params: { ref: "h:5000/denied:1" },
    });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "p-2")).toEqual({
      type: "stream_end",
      id: "p-2",
      error: { kind: "unauthenticated", message: `the credentials of "alice" were refused` },
    });
    conn.send({
      type: "command",
      id: "p-3",
      name: "image.pull",
      params: { ref: "x", credential: { username: "a" } },
    });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "p-3")).toMatchObject({
      error: { kind: "invalid_input", message: expect.stringContaining("image.pull") },
    });
    conn.send({ type: "command", id: "p-4", name: "image.pull", params: { ref: "busybox" } });
    await conn.waitFor((f) => f.type === "stream" && f.id === "p-4");
    conn.send({ type: "cancel", id: "p-4" });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "p-4")).toEqual({
      type: "stream_end",
      id: "p-4",
    });
    expect(aborted).toBe(true);
  });
});

describe("ProgressBatcher", () => {
  it("flushes at once on a status change and at most every interval otherwise", async () => {
    const out: TransferProgress[][] = [];
    const b = new ProgressBatcher((p) => out.push(p), 50);
    b.push(progress("downloading", 1)); // new status: flushed now
    for (let i = 2; i <= 9; i++) b.push(progress("downloading", i)); // batched
    expect(out).toEqual([[progress("downloading", 1)]]);
    await new Promise((r) => setTimeout(r, 80));
    expect(out).toEqual([[progress("downloading", 1)], [progress("downloading", 9)]]);
    b.push(progress("done", 10));
    expect(out.at(-1)).toEqual([progress("done", 10)]);
    b.close();
    expect(out).toHaveLength(3);
  });
});
