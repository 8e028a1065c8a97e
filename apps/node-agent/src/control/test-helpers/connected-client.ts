/**
 * Test-only: the shared set-up of the protocol-client stream tests (agent-client-exec, -input,
 * -archive, -transfer). Each test gets a fresh ProtocolTestServer on 127.0.0.1 and a temporary
 * outbox directory; `connected(handler)` starts a real AgentClient against that server and
 * resolves once the server has seen `hello` and the client its `welcome`. Everything is closed
 * and removed after each test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { AgentFrame } from "@berth/core";
import { AgentClient } from "../agent-client";
import { memoryLogger } from "../logger";
import { Outbox } from "../outbox";
import { ProtocolTestServer, withTimeout, type ServerConn } from "./protocol-server";
import type { RecordingHandler } from "./recording-handler";

export interface ConnectedClientHarness {
  /** Starts an AgentClient driven by `handler`; resolves with the server's side once welcomed. */
  connected(handler: RecordingHandler): Promise<ServerConn>;
  /** The memory log of the client `connected` started last in this test. */
  log(): ReturnType<typeof memoryLogger>;
}

/** Registers beforeEach/afterEach hooks; `tmpPrefix` names the per-test outbox directory. */
export function useConnectedClient(tmpPrefix: string): ConnectedClientHarness {
  let server: ProtocolTestServer;
  let dir: string;
  let client: AgentClient | undefined;
  let outbox: Outbox | undefined;
  let log: ReturnType<typeof memoryLogger> | undefined;

  beforeEach(async () => {
    server = new ProtocolTestServer();
    await server.listen();
    dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  });

  afterEach(async () => {
    await client?.close();
    outbox?.close();
    client = undefined;
    outbox = undefined;
    log = undefined;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    async connected(handler) {
      log = memoryLogger();
      outbox = Outbox.open(dir, log);
      client = new AgentClient({
        ...server.clientTarget(),
        handler,
        outbox,
        log,
        backoff: { initialMs: 40, maxMs: 400, resetAfterMs: 30_000, random: () => 1 },
      });
      client.start();
      const conn = await server.connection(1);
      await conn.waitFor((f) => f.type === "hello");
      await withTimeout(client.whenConnected(), 3000, "welcome");
      return conn;
    },
    log() {
      if (!log) throw new Error("no client connected in this test yet");
      return log;
    },
  };
}

/** The `data` of every `stream` frame of stream `id`, in order. */
export const streamData = (frames: AgentFrame[], id: string) =>
  frames.flatMap((f) => (f.type === "stream" && f.id === id ? [f.data] : []));
