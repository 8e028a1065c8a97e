/**
 * networks.* and the `--network` check of container runs over a real HTTP + WebSocket gateway on
 * 127.0.0.1 with a protocol-v1 test peer (the agent side runs on the real kernel in the
 * node-agent's networking.integration.test.ts). Team ownership: the server sends the creating
 * team, and hides other teams' networks from non-admins.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { ContainerSpecSchema, type Network } from "@berth/core";
import { createCaller } from "../../root";
import { usePeerTest, type ConnectedPeer } from "../../testing/connected-peer";
import { addUser, contextFor, insertContainer, type Fixture } from "../../testing/fixtures";
import { newContainerId } from "@berth/core";
import { runningResult } from "../../testing/protocol-peer";
import { assertSecurityAllowed, type Actor } from "../containers/containers.service";

const SERVER_ID = "testserverid2345678901234n";

function net(name: string, teamId: string | null, extra: Partial<Network> = {}): Network {
  return {
    id: name
      .padEnd(64, "0")
      .replace(/[^0-9a-f]/g, "a")
      .slice(0, 64),
    name,
    teamId,
    driver: "bridge",
    subnet: "172.18.0.0/16",
    gateway: "172.18.0.1",
    bridge: "berth-x",
    icc: true,
    masquerade: true,
    internal: false,
    isDefault: name === "bridge",
    createdAt: "2026-01-02T03:04:05Z",
    containers: [],
    ...extra,
  };
}

describe("networks.* through the agent gateway", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let c: ConnectedPeer;
  let bobToken: string;

  beforeEach(async () => {
    ({ f, connected: c } = t);
    const bob = await addUser(f, "bob");
    bobToken = f.services.auth.createApiToken(bob, "t").token;
  });

  const as = (token: string) => createCaller(contextFor(f, { authorization: `Bearer ${token}` }));
  const bob = () => as(bobToken);

  it("create carries the team; list shows the team's networks and the default only", async () => {
    const created = bob().networks.create({ name: "front", subnet: "10.9.0.0/24", icc: false });
    let cmd = await c.peer.next("command");
    expect(cmd).toMatchObject({
      name: "network.create",
      params: { name: "front", subnet: "10.9.0.0/24", icc: false, teamId: f.defaultTeamId },
    });
    c.peer.send({ type: "result", id: cmd.id, ok: true, data: net("front", f.defaultTeamId) });
    expect(await created).toMatchObject({ name: "front", nodeName: "peer", icc: true });

    const listed = bob().networks.list();
    cmd = await c.peer.next("command");
    expect(cmd).toMatchObject({ name: "network.list" });
    c.peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: {
        networks: [net("bridge", null), net("front", f.defaultTeamId), net("theirs", "other-team")],
      },
    });
    expect((await listed).map((n) => n.name)).toEqual(["bridge", "front"]);
  });

  it("another team's network is not found: inspect, remove and runs on it are refused", async () => {
    const inspected = expect(bob().networks.inspect({ ref: "theirs" })).rejects.toThrow(
      /network theirs not found/,
    );
    let cmd = await c.peer.next("command");
    expect(cmd).toMatchObject({ name: "network.inspect", params: { network: "theirs" } });
    c.peer.send({ type: "result", id: cmd.id, ok: true, data: net("theirs", "other-team") });
    await inspected;

    const removed = expect(bob().networks.remove({ ref: "theirs" })).rejects.toThrow(/not found/);
    cmd = await c.peer.next("command");
    c.peer.send({ type: "result", id: cmd.id, ok: true, data: net("theirs", "other-team") });
    await removed;

    // A run on it: refused after the inspect, before any container.run reaches the node.
    const run = expect(
      bob().containers.run({ spec: { image: "busybox", network: "theirs" } }),
    ).rejects.toThrow(/network theirs not found/);
    cmd = await c.peer.next("command");
    expect(cmd).toMatchObject({ name: "network.inspect", params: { network: "theirs" } });
    c.peer.send({ type: "result", id: cmd.id, ok: true, data: net("theirs", "other-team") });
    await run;
    expect(await bob().containers.list()).toEqual([]);
  });

  it("a run on the team's own network goes to the node with that network", async () => {
    const run = bob().containers.run({
      name: "web",
      spec: { image: "busybox", network: "front", ports: ["8080:80"] },
    });
    let cmd = await c.peer.next("command");
    expect(cmd).toMatchObject({ name: "network.inspect", params: { network: "front" } });
    c.peer.send({ type: "result", id: cmd.id, ok: true, data: net("front", f.defaultTeamId) });
    cmd = await c.peer.next("command");
    expect(cmd).toMatchObject({
      name: "container.run",
      params: { name: "web", spec: { network: "front", ports: ["8080:80"] } },
    });
    const params = cmd.params as { containerId: string };
    c.peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: runningResult(params.containerId, "web"),
    });
    expect(await run).toMatchObject({ name: "web", state: "running" });
  });
});

describe("networks.containers: live addresses and ports for ps and inspect", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let c: ConnectedPeer;
  beforeEach(() => {
    ({ f, connected: c } = t);
  });

  it("asks each node once and returns only the caller's containers", async () => {
    const token = f.services.auth.createApiToken(await addUser(f, "carol"), "t").token;
    const mine = insertContainer(f, c.nodeId, "web");
    const network = {
      mode: "bridge",
      endpoints: [],
      ports: [{ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" as const }],
    };
    const got = createCaller(
      contextFor(f, { authorization: `Bearer ${token}` }),
    ).networks.containers();
    const cmd = await c.peer.next("command");
    expect(cmd).toMatchObject({ name: "network.endpoints", params: {} });
    c.peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: {
        containers: [
          { containerId: mine, network },
          { containerId: newContainerId(), network },
        ],
      },
    });
    expect(await got).toEqual([{ containerId: mine, network }]);
  });
});

describe("--network host is admin-only", () => {
  it("refuses the host's network to non-admins", () => {
    const base = { id: "u1", teamId: "t1", role: "operator" } as const;
    const op = { ...base, isAdmin: false } as unknown as Actor;
    const admin = { ...base, isAdmin: true } as unknown as Actor;
    const host = ContainerSpecSchema.parse({ image: "busybox", network: "host" });
    const none = ContainerSpecSchema.parse({ image: "busybox", network: "none" });
    expect(() => assertSecurityAllowed(op, host)).toThrow(/host's network/);
    expect(() => assertSecurityAllowed(op, none)).not.toThrow();
    expect(() => assertSecurityAllowed(admin, host)).not.toThrow();
  });
});
