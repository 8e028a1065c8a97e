/**
 * `node.rotate_credential` in the protocol client: a real `ws` server on 127.0.0.1 plays
 * berth-server. The agent stores the new credential on disk (atomically, 0600) before it answers,
 * dials with it from then on, and refuses a credential for another node or one it cannot store.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentClient } from "./agent-client";
import {
  credentialPath,
  readCredential,
  writeCredential,
  type StoredCredential,
} from "./credentials";
import { memoryLogger } from "./logger";
import { Outbox } from "./outbox";
import { ProtocolTestServer, withTimeout } from "./test-helpers/protocol-server";
import { RecordingHandler } from "./test-helpers/recording-handler";

let server: ProtocolTestServer;
let dir: string;
let client: AgentClient | undefined;
let outbox: Outbox | undefined;

beforeEach(async () => {
  server = new ProtocolTestServer();
  await server.listen();
  dir = mkdtempSync(join(tmpdir(), "berth-agent-rotate-"));
});

afterEach(async () => {
  await client?.close();
  outbox?.close();
  client = undefined;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(store: boolean) {
  const log = memoryLogger();
  outbox = Outbox.open(dir, log);
  const credential: StoredCredential = {
    serverUrl: server.url,
    nodeId: server.nodeId,
    nodeName: "node-one",
    credential: server.credential,
    serverId: server.serverId,
  };
  writeCredential(dir, credential);
  client = new AgentClient({
    serverUrl: server.url,
    credential,
    handler: new RecordingHandler(),
    outbox,
    log,
    backoff: { initialMs: 40, maxMs: 400, resetAfterMs: 30_000, random: () => 1 },
    storeCredential: store ? (c) => writeCredential(dir, c) : null,
  });
  client.start();
  const conn = await server.connection(1);
  await conn.waitFor((f) => f.type === "hello");
  await withTimeout(client.whenConnected(), 3000, "welcome");
  return conn;
}

describe("node.rotate_credential", () => {
  it("stores the new credential before acknowledging it and dials with it afterwards", async () => {
    const conn = await start(true);
    const next = `${server.nodeId}.a-brand-new-secret-value-0123456789`;
    conn.send({
      type: "command",
      id: "rot-1",
      name: "node.rotate_credential",
      params: { credential: next },
    });
    const result = await conn.waitFor((f) => f.type === "result" && f.id === "rot-1");
    expect(result).toMatchObject({ ok: true, data: { stored: true } });
    expect(readCredential(dir)?.credential).toBe(next);
    expect(statSync(credentialPath(dir)).mode & 0o777).toBe(0o600);

    const attempts = server.upgradeAttempts.length;
    conn.ws.close(4000, "reconnect please");
    await withTimeout(
      (async () => {
        while (server.upgradeAttempts.length === attempts)
          await new Promise((r) => setTimeout(r, 20));
      })(),
      3000,
      "reconnect attempt",
    );
    expect(server.upgradeAttempts[attempts]?.authorization).toBe(`Bearer ${next}`);
  });

  it("refuses a credential for another node and keeps the old one", async () => {
    const conn = await start(true);
    conn.send({
      type: "command",
      id: "rot-2",
      name: "node.rotate_credential",
      params: { credential: "othernode.a-brand-new-secret-value-0123456789" },
    });
    const result = await conn.waitFor((f) => f.type === "result" && f.id === "rot-2");
    expect(result).toMatchObject({ ok: false, error: { kind: "invalid_input" } });
    expect(readCredential(dir)?.credential).toBe(server.credential);
  });

  it("refuses rotation when it has nowhere to store the credential", async () => {
    const conn = await start(false);
    conn.send({
      type: "command",
      id: "rot-3",
      name: "node.rotate_credential",
      params: { credential: `${server.nodeId}.a-brand-new-secret-value-0123456789` },
    });
    const result = await conn.waitFor((f) => f.type === "result" && f.id === "rot-3");
    expect(result).toMatchObject({ ok: false, error: { kind: "invalid_state" } });
    expect(readCredential(dir)?.credential).toBe(server.credential);
  });
});
