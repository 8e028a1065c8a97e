/**
 * `stream_input` routing in the protocol client: a real `ws` server on 127.0.0.1 plays
 * berth-server and an in-memory RecordingHandler stands in for the engine (the kernel side is in
 * containers/exec-tty.integration.test.ts). Input reaches the right running stream in order
 * (decoded from base64, also when sent before the engine attaches), input for unknown or
 * non-interactive streams is ignored, and invalid frames are answered with an `error` frame.
 */
import { describe, expect, it } from "vitest";
import { newContainerId, type StreamInput, type StreamInputSource } from "@berth/core";
import { useConnectedClient } from "./test-helpers/connected-client";
import { RecordingHandler } from "./test-helpers/recording-handler";

const { connected } = useConnectedClient("berth-agent-input-");

const b64 = (s: string) => Buffer.from(s).toString("base64");
const show = (i: StreamInput) => ({
  ...(i.data ? { data: Buffer.from(i.data).toString() } : {}),
  ...(i.eof ? { eof: true } : {}),
  ...(i.resize ? { resize: i.resize } : {}),
});

/** An engine whose exec records its input per argv[0] and ends on eof. */
function echoingHandler() {
  const handler = new RecordingHandler();
  const got = new Map<string, ReturnType<typeof show>[]>();
  const sources = new Map<string, StreamInputSource | undefined>();
  handler.execImpl = async (p, signal, onChunk, input) => {
    const name = p.argv[0]!;
    sources.set(name, input);
    got.set(name, []);
    if (!input) return { exitCode: 0 };
    // attach late, as the runtime does once the process can take input
    await new Promise((r) => setTimeout(r, 50));
    return new Promise((resolve) => {
      // queued input is handed over inside attach(), before it returns
      input.attach((ev) => {
        got.get(name)!.push(show(ev));
        if (ev.data) void onChunk({ stdout: Buffer.from(ev.data).toString().toUpperCase() });
        if (ev.eof) resolve({ exitCode: 0 });
      });
      signal.addEventListener("abort", () => resolve({ exitCode: null }), { once: true });
    });
  };
  return { handler, got, sources };
}

describe("stream_input over the protocol", () => {
  it("routes data, resize and eof to the right interactive stream, in order", async () => {
    const { handler, got } = echoingHandler();
    const conn = await connected(handler);
    const containerId = newContainerId();
    for (const [id, argv0] of [
      ["ex-a", "a"],
      ["ex-b", "b"],
    ] as const)
      conn.send({
        type: "command",
        id,
        name: "container.exec",
        params: { containerId, argv: [argv0], tty: true, interactive: true },
      });
    // sent before the engine attached: kept and delivered in order
    conn.send({ type: "stream_input", id: "ex-a", resize: { cols: 100, rows: 30 } });
    conn.send({ type: "stream_input", id: "ex-a", data: b64("one ") });
    conn.send({ type: "stream_input", id: "ex-b", data: b64("bee") });
    conn.send({ type: "stream_input", id: "ex-a", data: b64("two"), eof: true });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "ex-a");
    conn.send({ type: "stream_input", id: "ex-b", eof: true });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "ex-b");
    expect(got.get("a")).toEqual([
      { resize: { cols: 100, rows: 30 } },
      { data: "one " },
      { data: "two", eof: true },
    ]);
    expect(got.get("b")).toEqual([{ data: "bee" }, { eof: true }]);
    const out = conn.frames.flatMap((f) =>
      f.type === "stream" && f.id === "ex-a" ? [f.data] : [],
    );
    expect(out).toEqual([{ stdout: "ONE " }, { stdout: "TWO" }, { exitCode: 0 }]);
  });

  it("ignores input for unknown, ended and non-interactive streams; no input source without -i/-t", async () => {
    const { handler, got, sources } = echoingHandler();
    const conn = await connected(handler);
    conn.send({ type: "stream_input", id: "nobody", data: b64("x") });
    conn.send({
      type: "command",
      id: "ex-plain",
      name: "container.exec",
      params: { containerId: newContainerId(), argv: ["plain"] },
    });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "ex-plain");
    expect(sources.get("plain")).toBeUndefined();
    conn.send({ type: "stream_input", id: "ex-plain", data: b64("late") });
    // the connection is still fine: a heartbeat round trip and another exec work
    conn.send({
      type: "command",
      id: "ex-i",
      name: "container.exec",
      params: { containerId: newContainerId(), argv: ["i"], interactive: true },
    });
    conn.send({ type: "stream_input", id: "ex-i", eof: true });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "ex-i");
    expect(got.get("i")).toEqual([{ eof: true }]);
    expect(conn.frames.filter((f) => f.type === "error")).toEqual([]);
  });

  it("answers an invalid stream_input with an error frame and keeps the stream", async () => {
    const { handler, got } = echoingHandler();
    const conn = await connected(handler);
    conn.send({
      type: "command",
      id: "ex-c",
      name: "container.exec",
      params: { containerId: newContainerId(), argv: ["c"], tty: true, interactive: true },
    });
    conn.send({ type: "stream_input", id: "ex-c", resize: { cols: 0, rows: 10 } });
    conn.send({ type: "stream_input", id: "ex-c", data: "%%%" });
    const err = await conn.waitFor((f) => f.type === "error");
    expect(err).toMatchObject({ error: { kind: "invalid_input" }, ref: "ex-c" });
    conn.send({ type: "stream_input", id: "ex-c", data: b64("ok"), eof: true });
    await conn.waitFor((f) => f.type === "stream_end" && f.id === "ex-c");
    expect(got.get("c")).toEqual([{ data: "ok", eof: true }]);
  });
});
