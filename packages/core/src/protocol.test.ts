import { describe, expect, it } from "vitest";
import {
  CommandSchemas,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  parseAgentFrame,
  parseCommandParams,
  parseEventData,
  parseServerFrame,
} from "./protocol";
import { newContainerId } from "./ids";

const facts = {
  hostname: "h1",
  kernel: "6.1.0",
  os: "Debian GNU/Linux 12",
  arch: "x64",
  cpus: 2,
  memoryBytes: 1 << 30,
  cgroup: { version: 1, mode: "hybrid", parent: "/" },
  runtime: { name: "runc", version: "1.1.5", path: "/usr/sbin/runc" },
  monitor: { name: "conmon", version: "2.1.6" },
  agentVersion: "0.1.0",
};

describe("agent frames", () => {
  it("accepts a valid hello and rejects one with a wrong protocol version", () => {
    const hello = {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      nodeId: "n",
      facts,
      capabilities: ["container.run"],
      inventory: [],
    };
    expect(parseAgentFrame(JSON.stringify(hello)).ok).toBe(true);
    const r = parseAgentFrame(JSON.stringify({ ...hello, protocol: 2 }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/invalid frame/);
  });

  it("answers malformed JSON and unknown types with an error instead of throwing", () => {
    for (const raw of [
      "{not json",
      "null",
      "42",
      JSON.stringify({ type: "bogus" }),
      JSON.stringify({}),
    ]) {
      const r = parseAgentFrame(raw);
      expect(r.ok).toBe(false);
    }
  });

  it("refuses frames over the size limit", () => {
    const r = parseAgentFrame("x".repeat(MAX_FRAME_BYTES + 1));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/larger than/);
  });

  it("distinguishes ok and error results", () => {
    const ok = parseAgentFrame({ type: "result", id: "c1", ok: true, data: { x: 1 } });
    expect(ok.ok && ok.frame.type === "result" && ok.frame.ok).toBe(true);
    const err = parseAgentFrame({
      type: "result",
      id: "c1",
      ok: false,
      error: { kind: "not_found", message: "no" },
    });
    expect(err.ok).toBe(true);
    const bad = parseAgentFrame({
      type: "result",
      id: "c1",
      ok: false,
      error: { kind: "weird", message: "no" },
    });
    expect(bad.ok).toBe(false);
  });

  it("validates event sequence numbers", () => {
    expect(
      parseAgentFrame({ type: "event", seq: 0, name: "container.removed", at: "t", data: {} }).ok,
    ).toBe(false);
    expect(
      parseAgentFrame({ type: "event", seq: 1, name: "container.removed", at: "t", data: {} }).ok,
    ).toBe(true);
  });
});

describe("server frames", () => {
  it("accepts commands with known names only", () => {
    expect(
      parseServerFrame({ type: "command", id: "abc_1", name: "container.run", params: {} }).ok,
    ).toBe(true);
    expect(
      parseServerFrame({ type: "command", id: "abc_1", name: "container.explode", params: {} }).ok,
    ).toBe(false);
    expect(
      parseServerFrame({ type: "command", id: "bad id!", name: "container.run", params: {} }).ok,
    ).toBe(false);
  });
  it("parses welcome and ack", () => {
    expect(
      parseServerFrame({
        type: "welcome",
        protocol: 1,
        serverId: "s",
        heartbeatIntervalMs: 5000,
        ackedSeq: 0,
      }).ok,
    ).toBe(true);
    expect(parseServerFrame({ type: "ack", seq: -1 }).ok).toBe(false);
  });
});

describe("command params", () => {
  it("fills defaults for container.run and validates the spec", () => {
    const id = newContainerId();
    const r = parseCommandParams("container.run", {
      containerId: id,
      name: "web-1",
      spec: { image: "busybox" },
    });
    expect(r.success).toBe(true);
    if (r.success) {
      expect(r.data.autoRemove).toBe(false);
      expect(r.data.spec.env).toEqual([]);
      expect(r.data.spec.limits).toEqual({});
    }
    const bad = parseCommandParams("container.run", {
      containerId: id,
      name: "web-1",
      spec: { image: "busybox", limits: { memoryBytes: 1024 } },
    });
    expect(bad.success).toBe(false);
  });
  it("rejects a malformed container id", () => {
    expect(parseCommandParams("container.stop", { containerId: "../../etc" }).success).toBe(false);
  });
  it("has a schema for every command", () => {
    for (const [name, s] of Object.entries(CommandSchemas)) {
      expect(s.params, name).toBeDefined();
      expect(s.result, name).toBeDefined();
    }
  });
  it("validates event data", () => {
    expect(parseEventData("container.removed", { id: newContainerId() }).success).toBe(true);
    expect(parseEventData("container.removed", { id: "x" }).success).toBe(false);
  });
});

describe("interactive exec: stream_input frames and exec params", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");

  it("accepts data, eof and resize for a stream id", () => {
    for (const f of [
      { type: "stream_input", id: "c1", data: b64("ls\r") },
      { type: "stream_input", id: "c1", eof: true },
      { type: "stream_input", id: "c1", resize: { cols: 120, rows: 40 } },
      { type: "stream_input", id: "c1", data: b64("x"), eof: true, resize: { cols: 1, rows: 1 } },
    ]) {
      const r = parseServerFrame(JSON.stringify(f));
      expect(r).toEqual({ ok: true, frame: f });
    }
  });

  it("refuses non-base64 data, oversized data, out-of-range sizes and a bad id", () => {
    const big = Buffer.alloc(64 * 1024 + 1).toString("base64");
    for (const f of [
      { type: "stream_input", id: "c1", data: "not base64!" },
      { type: "stream_input", id: "c1", data: big },
      { type: "stream_input", id: "c1", resize: { cols: 0, rows: 24 } },
      { type: "stream_input", id: "c1", resize: { cols: 80, rows: 1001 } },
      { type: "stream_input", id: "c1", resize: { cols: 80.5, rows: 24 } },
      { type: "stream_input", id: "c1", eof: false },
      { type: "stream_input", id: "bad id!", eof: true },
      { type: "stream_input", eof: true },
    ]) {
      expect(parseServerFrame(JSON.stringify(f)).ok, JSON.stringify(f).slice(0, 80)).toBe(false);
    }
    // exactly the limit is fine
    const max = Buffer.alloc(64 * 1024).toString("base64");
    expect(parseServerFrame(JSON.stringify({ type: "stream_input", id: "c", data: max })).ok).toBe(
      true,
    );
  });

  it("container.exec takes tty, interactive and a size; detach excludes both", () => {
    const containerId = newContainerId();
    const ok = parseCommandParams("container.exec", {
      containerId,
      argv: ["sh"],
      tty: true,
      interactive: true,
      size: { cols: 100, rows: 30 },
    });
    expect(ok.success && ok.data).toMatchObject({ tty: true, interactive: true, detach: false });
    for (const bad of [
      { tty: true, detach: true },
      { interactive: true, detach: true },
      { tty: true, size: { cols: 2000, rows: 10 } },
    ]) {
      expect(
        parseCommandParams("container.exec", { containerId, argv: ["sh"], ...bad }).success,
      ).toBe(false);
    }
    // an exec without them keeps its old shape (no tty/interactive keys)
    const plain = parseCommandParams("container.exec", { containerId, argv: ["true"] });
    expect(plain.success && Object.keys(plain.data).sort()).toEqual(
      ["argv", "containerId", "detach", "env"].sort(),
    );
    expect(CommandSchemas["container.exec"].result.safeParse({ stdout: "\u001b[1m" }).success).toBe(
      true,
    );
  });
});
