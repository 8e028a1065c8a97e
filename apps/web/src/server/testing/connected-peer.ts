/**
 * A berth-server HTTP app on 127.0.0.1 with one protocol test peer joined and greeted (hello →
 * welcome): the agent side of tests that exercise procedures through the real gateway.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { JoinResponse } from "@berth/core";
import { createHttpApp } from "../http-app";
import type { Fixture } from "./fixtures";
import { ProtocolPeer, TEST_FACTS } from "./protocol-peer";

export interface ConnectedPeer {
  peer: ProtocolPeer;
  nodeId: string;
  /** `127.0.0.1:<port>` of the server. */
  base: string;
  /** Drops the peer and stops the server (the fixture is closed by the caller). */
  close(): Promise<void>;
}

export async function connectPeer(f: Fixture, serverId: string): Promise<ConnectedPeer> {
  const app = createHttpApp({
    db: f.db,
    gateway: f.gateway,
    services: f.services,
    serverId,
    defaultTeamId: f.defaultTeamId,
    secureCookies: false,
  });
  const server = createServer((req, res) => {
    if (!app.handleRequest(req, res)) res.writeHead(404).end();
  });
  server.on("upgrade", (req, socket, head) => {
    if (!app.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { token } = f.services.joinTokens.create(f.adminId, 600);
  const res = await fetch(`http://${base}/api/agent/join`, {
    method: "POST",
    body: JSON.stringify({ token, hostname: "peer" }),
  });
  const j = (await res.json()) as JoinResponse;
  const peer = await ProtocolPeer.connect(`ws://${base}/api/agent`, j.credential);
  peer.send({
    type: "hello",
    protocol: 1,
    nodeId: j.nodeId,
    facts: TEST_FACTS,
    capabilities: [],
    inventory: [],
  });
  await peer.next("welcome");
  return {
    peer,
    nodeId: j.nodeId,
    base,
    async close() {
      peer.ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
