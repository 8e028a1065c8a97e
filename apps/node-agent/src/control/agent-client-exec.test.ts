/**
 * The protocol client's `container.exec` stream: a real `ws` server on 127.0.0.1 plays
 * berth-server and an in-memory RecordingHandler stands in for the engine (the kernel side is in
 * containers/exec.integration.test.ts). Chunks in order, then `{exitCode}`, then `stream_end`;
 * errors, invalid params and cancel.
 */
import { describe, expect, it } from "vitest";
import { DomainError, newContainerId } from "@berth/core";
import { streamData, useConnectedClient } from "./test-helpers/connected-client";
import { RecordingHandler } from "./test-helpers/recording-handler";

const { connected } = useConnectedClient("berth-agent-exec-");

describe("container.exec over the protocol", () => {
  it("sends each chunk in order, then {exitCode}, then stream_end", async () => {
    const handler = new RecordingHandler();
    handler.execImpl = async (_p, _signal, onChunk) => {
      await onChunk({ stdout: "out\n" });
      await onChunk({ stderr: "err\n" });
      await onChunk({ stdout: "é\n" });
      return { exitCode: 3 };
    };
    const conn = await connected(handler);
    const id = newContainerId();
    conn.send({
      type: "command",
      id: "exec-1",
      name: "container.exec",
      params: { containerId: id, argv: ["sh", "-c", "exit 3"], user: "nobody" },
    });
    const end = await conn.waitFor((f) => f.type === "stream_end" && f.id === "exec-1");
    expect(end).toEqual({ type: "stream_end", id: "exec-1" });
    expect(handler.calls).toEqual([
      {
        method: "exec",
        args: {
          containerId: id,
          argv: ["sh", "-c", "exit 3"],
          user: "nobody",
          env: [],
          detach: false,
        },
      },
    ]);
    expect(streamData(conn.frames, "exec-1")).toEqual([
      { stdout: "out\n" },
      { stderr: "err\n" },
      { stdout: "é\n" },
      { exitCode: 3 },
    ]);
  });

  it("a refusal ends the stream with its error and no exit code; bad params are refused", async () => {
    const handler = new RecordingHandler();
    handler.execImpl = async (p) => {
      throw new DomainError(
        "invalid_state",
        `container ${p.containerId.slice(0, 12)} is not running`,
      );
    };
    const conn = await connected(handler);
    const id = newContainerId();
    conn.send({
      type: "command",
      id: "exec-2",
      name: "container.exec",
      params: { containerId: id, argv: ["true"] },
    });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "exec-2")).toEqual({
      type: "stream_end",
      id: "exec-2",
      error: { kind: "invalid_state", message: `container ${id.slice(0, 12)} is not running` },
    });
    expect(streamData(conn.frames, "exec-2")).toEqual([]);

    conn.send({
      type: "command",
      id: "exec-3",
      name: "container.exec",
      params: { containerId: id, argv: [] },
    });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "exec-3")).toMatchObject({
      error: { kind: "invalid_input", message: expect.stringContaining("container.exec") },
    });
    expect(handler.calls.filter((c) => c.method === "exec")).toHaveLength(1);
  });

  it("cancel aborts the exec (the engine kills the process) and ends without an exit code", async () => {
    const handler = new RecordingHandler();
    let aborted = false;
    handler.execImpl = async (_p, signal, onChunk) => {
      await onChunk({ stdout: "started\n" });
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      aborted = true;
      return { exitCode: null };
    };
    const conn = await connected(handler);
    conn.send({
      type: "command",
      id: "exec-4",
      name: "container.exec",
      params: { containerId: newContainerId(), argv: ["sleep", "100"] },
    });
    await conn.waitFor((f) => f.type === "stream" && f.id === "exec-4");
    conn.send({ type: "cancel", id: "exec-4" });
    expect(await conn.waitFor((f) => f.type === "stream_end" && f.id === "exec-4")).toEqual({
      type: "stream_end",
      id: "exec-4",
    });
    expect(aborted).toBe(true);
    expect(streamData(conn.frames, "exec-4")).toEqual([{ stdout: "started\n" }]);
  });
});
