/**
 * Fleet management through the tRPC API, over a real HTTP + WebSocket gateway on 127.0.0.1 with
 * protocol-v1 test peers: node detail (capacity, allocation, containers), labels, pools and their
 * grants, cordon and drain, removal, credential rotation, join tokens with presets, and the
 * scheduling checks a container run goes through. The peers run no containers.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContainerSpecSchema, newId, type JoinResponse } from "@berth/core";
import { auditEvents, containers, eq, nodes, teamMembers, teams } from "@berth/db";
import { authenticateNode } from "../../agents/node-auth";
import {
  addUser,
  callerFor,
  createFixture,
  insertContainer,
  type Fixture,
} from "../../testing/fixtures";
import { ProtocolPeer, TEST_FACTS, status } from "../../testing/protocol-peer";
import { startPeerServer, type PeerServer } from "../../testing/test-server";

const SERVER_ID = "testserverid2345678901234a";
const spec = ContainerSpecSchema.parse({ image: "busybox" });

describe("fleet management", () => {
  let f: Fixture;
  let srv: PeerServer;
  let base: string;

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    srv = await startPeerServer(f, SERVER_ID);
    base = srv.base;
  });
  afterEach(async () => {
    await srv.close();
    await f.close();
  });

  const join = (token: string, hostname: string) => srv.join(token, hostname);
  const greet = async (j: JoinResponse, credential = j.credential) =>
    (await srv.greet(j, { credential })).peer;
  const connect = (hostname: string) => srv.connect(hostname);

  const callerAs = (userId: string) => callerFor(f, userId);
  const admin = () => callerAs(f.adminId);

  /** Answers each `container.run` / `container.stop` the peer receives like an agent would. */
  function answerContainerCommands(peer: ProtocolPeer) {
    peer.ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as {
        type: string;
        id: string;
        name: string;
        params: { containerId: string; name?: string };
      };
      if (frame.type !== "command") return;
      const { containerId } = frame.params;
      if (frame.name === "container.run")
        peer.send({
          type: "result",
          id: frame.id,
          ok: true,
          data: status(containerId, frame.params.name!, "running"),
        });
      if (frame.name === "container.stop")
        peer.send({
          type: "result",
          id: frame.id,
          ok: true,
          data: status(containerId, "x", "exited", { exitCode: 0 }),
        });
    });
  }

  it("shows a node's facts, capacity, allocation of running limits and its containers", async () => {
    const { j } = await connect("alpha");
    insertContainer(f, j.nodeId, "web", {
      spec: { image: "nginx", limits: { nanoCpus: 500_000_000, memoryBytes: 256 * 2 ** 20 } },
    });
    insertContainer(f, j.nodeId, "db", {
      spec: { image: "pg", limits: { nanoCpus: 1_000_000_000, memoryBytes: 512 * 2 ** 20 } },
    });
    insertContainer(f, j.nodeId, "old", {
      state: "exited",
      spec: { image: "x", limits: { memoryBytes: 2 ** 30 } },
    });
    insertContainer(f, j.nodeId, "free", { spec: { image: "x" } });
    const node = await admin().nodes.get({ ref: "alpha" });
    expect(node).toMatchObject({
      name: "alpha",
      status: "online",
      agentVersion: TEST_FACTS.agentVersion,
      capacity: { cpus: 2, memoryBytes: 4 * 1024 ** 3 },
      allocation: { cpus: 1.5, memoryBytes: 768 * 2 ** 20, unlimited: 1 },
      containers: { running: 3, total: 4 },
      cordoned: false,
      labels: {},
      poolName: null,
    });
    expect(node.containerList.map((c) => [c.name, c.state])).toEqual([
      ["db", "running"],
      ["free", "running"],
      ["old", "exited"],
      ["web", "running"],
    ]);
    expect((await admin().nodes.list())[0]).toMatchObject({
      name: "alpha",
      allocation: { cpus: 1.5 },
    });
    // another team's member sees the node's allocation but none of these containers
    const otherTeam = newId();
    f.db.insert(teams).values({ id: otherTeam, name: "others" }).run();
    const outsider = await addUser(f, "otto", { role: "viewer" });
    f.db
      .update(teamMembers)
      .set({ teamId: otherTeam })
      .where(eq(teamMembers.userId, outsider))
      .run();
    expect(await callerAs(outsider).nodes.get({ ref: "alpha" })).toMatchObject({
      allocation: { cpus: 1.5 },
      containerList: [],
    });
  });

  it("sets and removes labels; refuses invalid keys", async () => {
    await connect("alpha");
    expect(
      await admin().nodes.setLabels({ ref: "alpha", set: { zone: "eu-1", "berth.io/gpu": "a10" } }),
    ).toEqual({ zone: "eu-1", "berth.io/gpu": "a10" });
    expect(
      await admin().nodes.setLabels({ ref: "alpha", set: { tier: "db" }, remove: ["zone"] }),
    ).toEqual({ "berth.io/gpu": "a10", tier: "db" });
    await expect(
      admin().nodes.setLabels({ ref: "alpha", set: { "bad key": "x" } }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect((await admin().nodes.get({ ref: "alpha" })).labels).toEqual({
      "berth.io/gpu": "a10",
      tier: "db",
    });
  });

  it("refuses a run on a cordoned node with a clear error, and places it again once uncordoned", async () => {
    const { peer } = await connect("alpha");
    answerContainerCommands(peer);
    expect(await admin().nodes.cordon({ ref: "alpha" })).toEqual({
      name: "alpha",
      cordoned: true,
    });
    await expect(
      admin().containers.run({ node: "alpha", spec, autoRemove: false }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/node alpha is cordoned/) });
    await expect(admin().containers.run({ spec, autoRemove: false })).rejects.toMatchObject({
      message: expect.stringMatching(/no online node takes containers of your team/),
    });
    expect(f.db.select().from(containers).all()).toHaveLength(0);
    await admin().nodes.uncordon({ ref: "alpha" });
    const c = await admin().containers.run({ spec, autoRemove: false });
    expect(c).toMatchObject({ nodeName: "alpha", state: "running" });
  });

  it("schedules on a pooled node only for teams the pool is granted to; unpooled nodes serve everyone", async () => {
    const { peer } = await connect("alpha");
    answerContainerCommands(peer);
    const pool = await admin().pools.create({ name: "gpu" });
    expect(pool).toMatchObject({ name: "gpu", nodes: 0, teams: [] });
    await admin().nodes.setPool({ ref: "alpha", pool: "gpu" });
    const team = f.db.select().from(teams).where(eq(teams.id, f.defaultTeamId)).get()!;

    await expect(
      admin().containers.run({ node: "alpha", spec, autoRemove: false }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringMatching(
        /node alpha is in pool gpu, which is not granted to your team/,
      ),
    });
    expect(await admin().pools.grant({ ref: "gpu", team: team.name })).toMatchObject({
      nodes: 1,
      teams: [{ id: team.id, name: team.name }],
    });
    expect(await admin().containers.run({ node: "alpha", spec, autoRemove: false })).toMatchObject({
      nodeName: "alpha",
    });
    await admin().pools.revoke({ ref: "gpu", team: team.id });
    await expect(admin().containers.run({ spec, autoRemove: false })).rejects.toMatchObject({
      message: expect.stringMatching(/no online node takes containers/),
    });
    // removing the pool releases its nodes: usable by every team again
    expect(await admin().pools.remove({ ref: "gpu" })).toEqual({ name: "gpu", releasedNodes: 1 });
    expect(await admin().pools.list()).toEqual([]);
    expect(await admin().containers.run({ spec, autoRemove: false })).toMatchObject({
      nodeName: "alpha",
    });
  });

  it("drain cordons the node and stops what runs on it, reporting each container", async () => {
    const { j, peer } = await connect("alpha");
    answerContainerCommands(peer);
    const a = insertContainer(f, j.nodeId, "web");
    const b = insertContainer(f, j.nodeId, "db");
    insertContainer(f, j.nodeId, "done", { state: "exited" });
    const report = await admin().nodes.drain({ ref: "alpha", timeoutSeconds: 1 });
    expect(report).toEqual({
      node: "alpha",
      cordoned: true,
      stopped: [
        { id: b, name: "db" },
        { id: a, name: "web" },
      ],
      failed: [],
    });
    const states = f.db
      .select({ name: containers.name, state: containers.state })
      .from(containers)
      .all();
    expect(states.every((s) => s.state === "exited")).toBe(true);
    expect((await admin().nodes.get({ ref: "alpha" })).cordoned).toBe(true);
  });

  it("drain and cordon need node.drain: a viewer is refused and the refusal audited", async () => {
    await connect("alpha");
    const viewer = await addUser(f, "vera", { role: "viewer" });
    await expect(callerAs(viewer).nodes.cordon({ ref: "alpha" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(
      callerAs(viewer).nodes.remove({ ref: "alpha", force: true }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await callerAs(viewer).nodes.list())[0]).toMatchObject({ cordoned: false });
    const denied = f.db
      .select({ action: auditEvents.action, result: auditEvents.result })
      .from(auditEvents)
      .where(eq(auditEvents.actorId, viewer))
      .all()
      .filter((r) => r.action.startsWith("nodes."));
    expect(denied).toEqual([
      { action: "nodes.cordon", result: "denied" },
      { action: "nodes.remove", result: "denied" },
    ]);
  });

  it("remove refuses an online node unless forced; forced, it disconnects it and forgets its containers", async () => {
    const { j, peer } = await connect("alpha");
    insertContainer(f, j.nodeId, "web");
    await expect(admin().nodes.remove({ ref: "alpha" })).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringMatching(/node alpha is online/),
    });
    expect(await admin().nodes.remove({ ref: "alpha", force: true })).toEqual({
      name: "alpha",
      forgottenContainers: 1,
    });
    expect((await peer.closed).code).toBe(4001);
    expect(f.db.select().from(nodes).all()).toHaveLength(0);
    expect(f.db.select().from(containers).all()).toHaveLength(0);
    expect(authenticateNode(f.db, `Bearer ${j.credential}`)).toBeNull();
    await expect(ProtocolPeer.connect(`ws://${base}/api/agent`, j.credential)).rejects.toThrow(
      /401/,
    );
  });

  it("rotates the credential: the new one is delivered, the old one refused after the ack", async () => {
    const { j, peer } = await connect("alpha");
    const rotated = admin().nodes.rotateCredential({ ref: "alpha" });
    const cmd = await peer.next("command");
    expect(cmd.name).toBe("node.rotate_credential");
    const next = (cmd.params as { credential: string }).credential;
    expect(next.startsWith(`${j.nodeId}.`)).toBe(true);
    // until the agent answers, both are accepted (it may have stored the new one already)
    expect(authenticateNode(f.db, `Bearer ${j.credential}`)?.id).toBe(j.nodeId);
    peer.send({ type: "result", id: cmd.id, ok: true, data: { stored: true } });
    expect(await rotated).toMatchObject({ name: "alpha" });
    expect(authenticateNode(f.db, `Bearer ${j.credential}`)).toBeNull();
    expect(authenticateNode(f.db, `Bearer ${next}`)?.id).toBe(j.nodeId);
    peer.ws.terminate();
    await greet(j, next);
  });

  it("keeps the old credential when the agent cannot store the new one; a reconnect with the new one promotes it", async () => {
    const { j, peer } = await connect("alpha");
    const rotated = admin().nodes.rotateCredential({ ref: "alpha" });
    const cmd = await peer.next("command");
    const next = (cmd.params as { credential: string }).credential;
    peer.send({
      type: "result",
      id: cmd.id,
      ok: false,
      error: { kind: "internal", message: "disk full" },
    });
    await expect(rotated).rejects.toMatchObject({ message: "disk full" });
    expect(authenticateNode(f.db, `Bearer ${j.credential}`)?.id).toBe(j.nodeId);
    // the agent stored it but its answer was lost: dialling with it makes it the only one
    expect(authenticateNode(f.db, `Bearer ${next}`)?.id).toBe(j.nodeId);
    expect(authenticateNode(f.db, `Bearer ${j.credential}`)).toBeNull();
  });

  it("refuses a second credential rotation while one waits for the agent", async () => {
    const { j, peer } = await connect("alpha");
    const first = admin().nodes.rotateCredential({ ref: "alpha" });
    const cmd = await peer.next("command");
    const next = (cmd.params as { credential: string }).credential;
    await expect(admin().nodes.rotateCredential({ ref: "alpha" })).rejects.toMatchObject({
      message: expect.stringMatching(/already in progress/),
    });
    peer.send({ type: "result", id: cmd.id, ok: true, data: { stored: true } });
    await first;
    // The refused attempt did not replace the pending secret: the delivered one is the credential.
    expect(authenticateNode(f.db, `Bearer ${next}`)?.id).toBe(j.nodeId);
    expect(authenticateNode(f.db, `Bearer ${j.credential}`)).toBeNull();
    // Once finished, a new rotation is accepted again.
    const again = admin().nodes.rotateCredential({ ref: "alpha" });
    const cmd2 = await peer.next("command");
    peer.send({ type: "result", id: cmd2.id, ok: true, data: { stored: true } });
    await expect(again).resolves.toMatchObject({ name: "alpha" });
  });

  it("join tokens: multi-use with a pool and labels preset, used up, revocable", async () => {
    await admin().pools.create({ name: "edge" });
    const t = await admin().joinTokens.create({
      ttlSeconds: 600,
      maxUses: 2,
      pool: "edge",
      labels: { zone: "eu" },
    });
    const a = await join(t.token, "edge-a");
    await join(t.token, "edge-b");
    const res = await fetch(`http://${base}/api/agent/join`, {
      method: "POST",
      body: JSON.stringify({ token: t.token, hostname: "edge-c" }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { message: "join token used up" } });
    await greet(a);
    expect(await admin().nodes.get({ ref: "edge-a" })).toMatchObject({
      poolName: "edge",
      labels: { zone: "eu" },
    });
    expect((await admin().joinTokens.list())[0]).toMatchObject({
      id: t.id,
      uses: 2,
      maxUses: 2,
      poolName: "edge",
      status: "used",
    });

    const r = await admin().joinTokens.create({ ttlSeconds: 600 });
    expect(await admin().joinTokens.revoke({ id: r.id.slice(0, 8) })).toMatchObject({
      status: "revoked",
    });
    const refused = await fetch(`http://${base}/api/agent/join`, {
      method: "POST",
      body: JSON.stringify({ token: r.token, hostname: "late" }),
    });
    expect(await refused.json()).toMatchObject({ error: { message: "join token revoked" } });
    await expect(
      admin().joinTokens.create({ ttlSeconds: 600, pool: "nope" }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
