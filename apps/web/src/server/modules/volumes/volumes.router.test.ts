/**
 * volumes.* over a real HTTP + WebSocket gateway on 127.0.0.1 with a protocol-v1 test peer:
 * which command goes to which node and how results and errors come back, and team ownership
 * (the server's `volumes` rows): a team sees, inspects, removes and mounts only its own volumes.
 * The peer runs no containers; the agent side is tested on the real kernel in the node-agent
 * integration tests.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContainerSpecSchema, newId } from "@berth/core";
import { and, eq, teamMembers, teams, volumes } from "@berth/db";
import { createCaller } from "../../root";
import {
  addUser,
  callerFor,
  contextFor,
  createFixture,
  type Fixture,
} from "../../testing/fixtures";
import { runningResult } from "../../testing/protocol-peer";
import { startPeerServer, type PeerServer } from "../../testing/test-server";
import { assertSecurityAllowed, type Actor } from "../containers/containers.service";

const SERVER_ID = "testserverid2345678901234a";

describe("volumes.* through the agent gateway", () => {
  let f: Fixture;
  let srv: PeerServer;

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    srv = await startPeerServer(f, SERVER_ID);
  });
  afterEach(async () => {
    await srv.close();
    await f.close();
  });

  const connect = (hostname: string) => srv.connect(hostname);
  const admin = () => callerFor(f, f.adminId);

  it("create, inspect, list and rm go to the node; a conflict comes back as a conflict", async () => {
    const { peer, j } = await connect("peer");
    const vol = {
      name: "data",
      mountpoint: "/s/volumes/data/_data",
      createdAt: "2026-01-02T03:04:05Z",
    };
    const team = f.db.select().from(teams).where(eq(teams.id, f.defaultTeamId)).get()!;
    const view = {
      nodeId: j.nodeId,
      nodeName: "peer",
      name: "data",
      mountpoint: vol.mountpoint,
      createdAt: Date.parse(vol.createdAt),
      teamId: f.defaultTeamId,
      teamName: team.name,
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

  it("volumes belong to a team: another team can't list, inspect, remove or mount them", async () => {
    const { peer, j } = await connect("peer");
    // Team A is the default team (alice, operator); team B is "blue" (bob, operator).
    const alice = await addUser(f, "alice");
    const bob = await addUser(f, "bob");
    const blueId = newId();
    f.db.insert(teams).values({ id: blueId, name: "blue" }).run();
    f.db.insert(teamMembers).values({ teamId: blueId, userId: bob, role: "operator" }).run();
    const aliceToken = f.services.auth.createApiToken(alice, "t").token;
    const bobToken = f.services.auth.createApiToken(bob, "t").token;
    const asAlice = () => createCaller(contextFor(f, { authorization: `Bearer ${aliceToken}` }));
    const asBob = () =>
      createCaller(contextFor(f, { authorization: `Bearer ${bobToken}`, team: "blue" }));
    const defaultTeam = f.db.select().from(teams).where(eq(teams.id, f.defaultTeamId)).get()!;
    const vol = (name: string) => ({
      name,
      mountpoint: `/s/volumes/${name}/_data`,
      createdAt: "2026-01-02T03:04:05Z",
    });
    const owner = (name: string) =>
      f.db
        .select()
        .from(volumes)
        .where(and(eq(volumes.nodeId, j.nodeId), eq(volumes.name, name)))
        .get();

    // Alice creates "data": the server first makes sure no unowned "data" exists on the node,
    // then the row records her team and her.
    const created = asAlice().volumes.create({ name: "data" });
    let cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.inspect", params: { name: "data" } });
    peer.fail(cmd.id, "not_found", "volume data not found on this node");
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.create", params: { name: "data" } });
    peer.send({ type: "result", id: cmd.id, ok: true, data: vol("data") });
    expect(await created).toMatchObject({ name: "data", teamId: f.defaultTeamId });
    expect(owner("data")).toMatchObject({ teamId: f.defaultTeamId, createdBy: alice });

    // Bob's list leaves out alice's volume and the unowned one the node also has.
    const bobList = asBob().volumes.list();
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.list" });
    peer.reply(cmd.id, { volumes: [vol("data"), vol("legacy")] });
    expect(await bobList).toEqual([]);

    // Inspect and rm: not found, with the node's own words for a missing volume, and nothing
    // reaches the node (the next command the peer sees is the one that follows).
    const missing = "volume data not found on this node";
    await expect(asBob().volumes.inspect({ name: "data" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: missing,
    });
    await expect(asBob().volumes.remove({ name: "data" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: missing,
    });
    await expect(asBob().volumes.inspect({ name: "legacy" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    // Creating the name again is refused without saying whose it is.
    await expect(asBob().volumes.create({ name: "data" })).rejects.toMatchObject({
      code: "CONFLICT",
      message: "volume data already exists",
    });
    // Nor is an unowned volume that exists on the node taken over by creating it.
    const claim = expect(asBob().volumes.create({ name: "legacy" })).rejects.toMatchObject({
      code: "CONFLICT",
      message: "volume legacy already exists",
    });
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.inspect", params: { name: "legacy" } });
    peer.send({ type: "result", id: cmd.id, ok: true, data: vol("legacy") });
    await claim;
    expect(owner("legacy")).toBeUndefined();
    // Mounting it in a container is refused before any container row or command.
    await expect(
      asBob().containers.run({
        spec: { image: "busybox", mounts: [{ type: "volume", source: "data", target: "/d" }] },
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND", message: "volume data not found" });
    expect(await asBob().containers.list()).toEqual([]);

    // An unowned volume that exists on the node ("legacy") is not bob's to mount either: the
    // server asks the node about a name it has no row for.
    const legacy = expect(
      asBob().containers.run({
        spec: { image: "busybox", mounts: [{ type: "volume", source: "legacy", target: "/d" }] },
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND", message: "volume legacy not found" });
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.inspect", params: { name: "legacy" } });
    peer.send({ type: "result", id: cmd.id, ok: true, data: vol("legacy") });
    await legacy;
    expect(owner("legacy")).toBeUndefined();

    // A volume the agent makes on first use (`run -v fresh:/d`) becomes bob's team's.
    const run = asBob().containers.run({
      name: "web",
      spec: { image: "busybox", mounts: [{ type: "volume", source: "fresh", target: "/d" }] },
    });
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.inspect", params: { name: "fresh" } });
    peer.fail(cmd.id, "not_found", "volume fresh not found on this node");
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({
      name: "container.run",
      params: { spec: { mounts: [{ type: "volume", source: "fresh", target: "/d" }] } },
    });
    const params = cmd.params as { containerId: string };
    peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: runningResult(params.containerId, "web"),
    });
    expect(await run).toMatchObject({ name: "web", state: "running" });
    expect(owner("fresh")).toMatchObject({ teamId: blueId, createdBy: bob });
    // Alice, in turn, can't mount bob's.
    await expect(
      asAlice().containers.create({
        spec: { image: "busybox", mounts: [{ type: "volume", source: "fresh", target: "/d" }] },
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND", message: "volume fresh not found" });

    // The admin sees every volume with its team; the unowned one without.
    const adminList = admin().volumes.list();
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.list" });
    peer.reply(cmd.id, { volumes: [vol("data"), vol("fresh"), vol("legacy")] });
    expect(
      (await adminList).map((v) => ({ name: v.name, teamId: v.teamId, teamName: v.teamName })),
    ).toEqual([
      { name: "data", teamId: f.defaultTeamId, teamName: defaultTeam.name },
      { name: "fresh", teamId: blueId, teamName: "blue" },
      { name: "legacy", teamId: null, teamName: null },
    ]);

    // Alice's list: hers only.
    const aliceList = asAlice().volumes.list();
    cmd = await peer.next("command");
    peer.reply(cmd.id, { volumes: [vol("data"), vol("fresh"), vol("legacy")] });
    expect((await aliceList).map((v) => v.name)).toEqual(["data"]);

    // Bob removes his own: the node is asked and the row goes.
    const removed = asBob().volumes.remove({ name: "fresh" });
    cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "volume.remove", params: { name: "fresh" } });
    peer.send({ type: "result", id: cmd.id, ok: true, data: { removed: true } });
    expect(await removed).toEqual({ removed: true });
    expect(owner("fresh")).toBeUndefined();
    expect(owner("data")).toBeDefined();
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
