/**
 * The protocol client's usage path against a real `ws` server: samples in the spool are sent in
 * `usage` frames after a welcome that announces `usageAckedSeq` (dropping what the server already
 * has), one batch in flight until `usage_ack`, new samples follow; a server that does not
 * announce usage accounting gets none and the spool keeps them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newContainerId, type AgentFrame } from "@berth/core";
import { AgentClient } from "../control/agent-client";
import { memoryLogger } from "../control/logger";
import { Outbox } from "../control/outbox";
import { ProtocolTestServer, withTimeout } from "../control/test-helpers/protocol-server";
import { RecordingHandler } from "../control/test-helpers/recording-handler";
import { usageReading } from "./testing/usage-reading";
import { UsageSpool, type UsageReading } from "./usage-spool";

const T0 = Date.parse("2026-11-02T10:00:00.000Z");
const ID = newContainerId();
const reading = (s: number): UsageReading =>
  usageReading({
    containerId: ID,
    epoch: new Date(T0).toISOString(),
    at: T0 + s * 1000,
    cpuNs: s * 1e9,
    memBytes: 1024,
  });

describe("AgentClient usage frames", () => {
  let server: ProtocolTestServer;
  let dir: string;
  let client: AgentClient | undefined;
  let outbox: Outbox;
  let spool: UsageSpool;

  beforeEach(async () => {
    server = new ProtocolTestServer();
    server.autoWelcome = false;
    await server.listen();
    dir = mkdtempSync(join(tmpdir(), "berth-usage-client-"));
    const log = memoryLogger();
    outbox = Outbox.open(dir, log);
    spool = UsageSpool.open(dir, log);
    client = new AgentClient({
      ...server.clientTarget(),
      handler: new RecordingHandler(),
      outbox,
      usage: spool,
      log,
      backoff: { initialMs: 40, maxMs: 400, resetAfterMs: 30_000, random: () => 1 },
    });
  });
  afterEach(async () => {
    await client?.close();
    outbox.close();
    spool.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const usageFrames = (frames: AgentFrame[]) =>
    frames.filter((f): f is Extract<AgentFrame, { type: "usage" }> => f.type === "usage");

  it("sends what the server lacks, one batch until acked, then what is new", async () => {
    spool.record([reading(1)]);
    spool.record([reading(2)]);
    spool.record([reading(3)]);
    client!.start();
    const conn = await server.connection(1);
    await conn.waitFor((f) => f.type === "hello");
    conn.send({
      type: "welcome",
      protocol: 1,
      serverId: server.serverId,
      heartbeatIntervalMs: 5000,
      ackedSeq: 0,
      usageAckedSeq: 1,
    });
    await withTimeout(client!.whenConnected(), 3000, "welcome");
    await conn.waitFor((f) => f.type === "usage");
    expect(usageFrames(conn.frames)[0]!.samples.map((s) => s.seq)).toEqual([2, 3]);

    // Nothing more goes until the ack; then the new sample follows.
    spool.record([reading(4)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(usageFrames(conn.frames)).toHaveLength(1);
    conn.send({ type: "usage_ack", seq: 3 });
    await conn.waitFor((f) => f.type === "usage" && f.samples[0]!.seq === 4);
    expect(spool.pending().map((s) => s.seq)).toEqual([4]);
    conn.send({ type: "usage_ack", seq: 4 });
    await withTimeout(
      (async () => {
        while (spool.size > 0) await new Promise((r) => setTimeout(r, 20));
      })(),
      3000,
      "the spool to empty",
    );
  });

  it("a server that does not announce usage gets no usage frames; the spool keeps them", async () => {
    spool.record([reading(1)]);
    client!.start();
    const conn = await server.connection(1);
    await conn.waitFor((f) => f.type === "hello");
    conn.welcome();
    await withTimeout(client!.whenConnected(), 3000, "welcome");
    spool.record([reading(2)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(usageFrames(conn.frames)).toEqual([]);
    expect(spool.size).toBe(2);
  });
});
