/**
 * volumes.* over a real HTTP + WebSocket gateway on 127.0.0.1 with a protocol-v1 test peer:
 * which command goes to which node and how results and errors come back. The peer runs no
 * containers; the agent side is tested on the real kernel in the node-agent integration tests.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContainerSpecSchema, type JoinResponse } from "@berth/core";
import { createHttpApp } from "../../http-app";
import { createCaller } from "../../root";
import { contextFor, createFixture, type Fixture } from "../../testing/fixtures";
import { ProtocolPeer, TEST_FACTS } from "../../testing/protocol-peer";
import { assertSecurityAllowed, type Actor } from "../containers/containers.service";

const SERVER_ID = "testserverid2345678901234a";

describe("volumes.* through the agent gateway", () => {
  let f: Fixture;
  let server: Server;
  let base: string;
  const peers: ProtocolPeer[] = [];

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    const app = createHttpApp({
      db: f.db,
      gateway: f.gateway,
      services: f.services,
      serverId: SERVER_ID,
      defaultTeamId: f.defaultTeamId,
      secureCookies: false,
    });
    server = createServer((req, res) => {
      if (!app.handleRequest(req, res)) res.writeHead(404).end();
    });
    server.on("upgrade", (req, socket, head) => {
      if (!app.handleUpgrade(req, socket, head)) socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.ws.terminate();
    await f.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function connect(hostname: string): Promise<{ peer: ProtocolPeer; j: JoinResponse }> {
    const { token } = f.services.joinTokens.create(f.adminId, 600);
    const res = await fetch(`http://${base}/api/agent/join`, {
      method: "POST",
      body: JSON.stringify({ token, hostname }),
    });
    const j = (await res.json()) as JoinResponse;
    const peer = await ProtocolPeer.connect(`ws://${base}/api/agent`, j.credential);
    peers.push(peer);
    peer.send({
      type: "hello",
      protocol: 1,
      nodeId: j.nodeId,
      facts: TEST_FACTS,
      capabilities: [],
      inventory: [],
    });
    await peer.next("welcome");
    return { peer, j };
  }

  const admin = () =>
    createCaller(
      contextFor(f, {
        authorization: `Bearer ${f.services.auth.createApiToken(f.adminId, "t").token}`,
      }),
    );

  it("create, inspect, list and rm go to the node; a conflict comes back as a conflict", async () => {
    const { peer, j } = await connect("peer");
    const vol = {
      name: "data",
      mountpoint: "/s/volumes/data/_data",
      createdAt: "2026-01-02T03:04:05Z",
    };
    const view = {
      nodeId: j.nodeId,
      nodeName: "peer",
      name: "data",
      mountpoint: vol.mountpoint,
      createdAt: Date.parse(vol.createdAt),
    };

    const created = admin().volumes.create({ name: "data" });
    let cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.create", params: { name: "data" } });
    peer.send({ type: "result", id: cmd.id, ok: true, data: vol });
    expect(await created).toEqual(view);

    const inspected = admin().volumes.inspect({ name: "data", node: "peer" });
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.inspect", params: { name: "data" } });
    peer.send({ type: "result", id: cmd.id, ok: true, data: vol });
    expect(await inspected).toEqual(view);

    const listed = admin().volumes.list();
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.list", params: {} });
    peer.send({ type: "result", id: cmd.id, ok: true, data: { volumes: [vol] } });
    expect(await listed).toEqual([view]);

    const refused = expect(admin().volumes.remove({ name: "data" })).rejects.toMatchObject({
      message: "volume data is in use by container abc",
    });
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.remove", params: { name: "data" } });
    peer.send({
      type: "result",
      id: cmd.id,
      ok: false,
      error: { kind: "conflict", message: "volume data is in use by container abc" },
    });
    await refused;
  });

  it("refuses bad names before asking any node, and needs --node when several are online", async () => {
    await expect(admin().volumes.create({ name: "../etc" })).rejects.toThrow(/volume names/);
    await connect("one");
    await connect("two");
    await expect(admin().volumes.create({ name: "data" })).rejects.toThrow(
      /2 nodes are online: say which one holds the volume \(--node\)/,
    );
  });
});

describe("host namespaces are admin-only", () => {
  const base = { id: "u1", teamId: "t1", role: "operator" } as const;
  it("refuses --pid=host and --ipc=host to non-admins; --uts=host and binds are allowed", () => {
    const op = { ...base, isAdmin: false } as unknown as Actor;
    const admin = { ...base, isAdmin: true } as unknown as Actor;
    const pid = ContainerSpecSchema.parse({ image: "busybox", namespaces: { pid: "host" } });
    const ipc = ContainerSpecSchema.parse({ image: "busybox", namespaces: { ipc: "host" } });
    const uts = ContainerSpecSchema.parse({
      image: "busybox",
      namespaces: { uts: "host" },
      mounts: [{ type: "bind", source: "/srv/data", target: "/data" }],
    });
    expect(() => assertSecurityAllowed(op, pid)).toThrow(/host's pid namespace/);
    expect(() => assertSecurityAllowed(op, ipc)).toThrow(/host's ipc namespace/);
    expect(() => assertSecurityAllowed(op, uts)).not.toThrow();
    expect(() => assertSecurityAllowed(admin, pid)).not.toThrow();
    expect(() => assertSecurityAllowed(admin, ipc)).not.toThrow();
  });
});
