/**
 * containers.create/start/kill/restart/pause/unpause/rename through the real tRPC caller, gateway
 * and WebSocket on 127.0.0.1, with a test peer that speaks protocol v1 (it runs no containers:
 * the agent's lifecycle.integration.test.ts covers runc and the freezer). Checks the commands
 * sent, what the rows become, refusals, and lifecycle events applied to rows.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { containers, eq } from "@berth/db";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { createCaller } from "../../root";
import { contextFor, createFixture, insertContainer, type Fixture } from "../../testing/fixtures";
import { status, type ProtocolPeer } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234c";

describe("container lifecycle verbs over a real agent socket", () => {
  let f: Fixture;
  let connected: ConnectedPeer;
  let peer: ProtocolPeer;
  let nodeId: string;

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    connected = await connectPeer(f, SERVER_ID);
    ({ peer, nodeId } = connected);
  });

  afterEach(async () => {
    await connected.close();
    await f.close();
  });

  const admin = () =>
    createCaller(
      contextFor(f, {
        authorization: `Bearer ${f.services.auth.createApiToken(f.adminId, "t").token}`,
      }),
    );
  const row = (id: string) => f.db.select().from(containers).where(eq(containers.id, id)).get();

  it("create sends container.create and stores the container as created", async () => {
    const pending = admin().containers.create({ name: "web", spec: { image: "busybox" } });
    const cmd = await peer.next("command");
    expect(cmd.name).toBe("container.create");
    expect(cmd.params).toMatchObject({ name: "web", spec: { image: "busybox" } });
    const id = (cmd.params as { containerId: string }).containerId;
    expect(row(id)?.state).toBe("creating");
    peer.send({ type: "result", id: cmd.id, ok: true, data: status(id, "web", "created") });
    expect(await pending).toMatchObject({ id, name: "web", state: "created" });
    expect(row(id)?.state).toBe("created");
  });

  it("create: an agent failure leaves no row", async () => {
    const pending = admin().containers.create({ name: "web", spec: { image: "busybox" } });
    const cmd = await peer.next("command");
    peer.send({
      type: "result",
      id: cmd.id,
      ok: false,
      error: { kind: "not_found", message: 'image "busybox" is not on this node' },
    });
    await expect(pending).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(f.db.select().from(containers).all()).toEqual([]);
  });

  it("start of an exited container: the newer running status wins over the old exit", async () => {
    const id = insertContainer(f, nodeId, "web", {
      state: "exited",
      exitCode: 0,
      finishedAt: new Date("2026-01-01T00:00:05.000Z"),
    });
    const pending = admin().containers.start({ ref: "web" });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "container.start", params: { containerId: id } });
    peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: status(id, "web", "running", { startedAt: "2026-01-01T00:00:09.000Z" }),
    });
    expect(await pending).toMatchObject({ state: "running", exitCode: null });
    expect(row(id)?.state).toBe("running");
  });

  it("a running status older than the recorded exit stays stale", async () => {
    const id = insertContainer(f, nodeId, "web", {
      state: "exited",
      exitCode: 0,
      finishedAt: new Date("2026-01-01T00:00:05.000Z"),
    });
    const pending = admin().containers.start({ ref: "web" });
    const cmd = await peer.next("command");
    peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: status(id, "web", "running", { startedAt: "2026-01-01T00:00:01.000Z" }),
    });
    expect((await pending).state).toBe("exited");
  });

  it("kill normalizes the signal; restart passes the timeout; pause and unpause", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "running" });
    const cases = [
      {
        call: () => admin().containers.kill({ ref: "web", signal: "usr1" }),
        name: "container.kill",
        params: { containerId: id, signal: "SIGUSR1" },
        state: "running",
      },
      {
        call: () => admin().containers.kill({ ref: "web" }),
        name: "container.kill",
        params: { containerId: id, signal: "SIGKILL" },
        state: "running",
      },
      {
        call: () => admin().containers.restart({ ref: "web", timeoutSeconds: 3 }),
        name: "container.restart",
        params: { containerId: id, timeoutSeconds: 3 },
        state: "running",
      },
      {
        call: () => admin().containers.pause({ ref: "web" }),
        name: "container.pause",
        params: { containerId: id },
        state: "paused",
      },
      {
        call: () => admin().containers.unpause({ ref: "web" }),
        name: "container.unpause",
        params: { containerId: id },
        state: "running",
      },
    ];
    for (const c of cases) {
      const pending = c.call();
      const cmd = await peer.next("command");
      expect(cmd.name).toBe(c.name);
      expect(cmd.params).toEqual(c.params);
      peer.send({ type: "result", id: cmd.id, ok: true, data: status(id, "web", c.state) });
      expect((await pending).state).toBe(c.state);
      expect(row(id)?.state).toBe(c.state);
    }
  });

  it("refuses a bad signal before asking the agent", async () => {
    insertContainer(f, nodeId, "web", { state: "running" });
    await expect(
      admin().containers.kill({ ref: "web", signal: "TERM; reboot" }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });

  it("the agent's invalid_state refusal surfaces and leaves the row as it was", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "exited", exitCode: 0 });
    const pending = admin().containers.pause({ ref: "web" });
    const cmd = await peer.next("command");
    peer.send({
      type: "result",
      id: cmd.id,
      ok: false,
      error: {
        kind: "invalid_state",
        message: `cannot pause container ${id.slice(0, 12)}: it is exited`,
      },
    });
    await expect(pending).rejects.toMatchObject({
      code: "PRECONDITION_FAILED",
      message: `cannot pause container ${id.slice(0, 12)}: it is exited`,
    });
    expect(row(id)?.state).toBe("exited");
  });

  it("rename: refuses a taken name without asking the agent, else renames agent then row", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "running" });
    insertContainer(f, nodeId, "db", { state: "running" });
    await expect(admin().containers.rename({ ref: "web", name: "db" })).rejects.toMatchObject({
      code: "CONFLICT",
    });
    await expect(admin().containers.rename({ ref: "web", name: "bad name" })).rejects.toMatchObject(
      { code: "BAD_REQUEST" },
    );
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
    const pending = admin().containers.rename({ ref: "web", name: "frontend" });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({
      name: "container.rename",
      params: { containerId: id, name: "frontend" },
    });
    peer.send({ type: "result", id: cmd.id, ok: true, data: status(id, "frontend", "running") });
    expect(await pending).toMatchObject({ id, name: "frontend" });
    expect(row(id)?.name).toBe("frontend");
  });

  it("applies container.paused / unpaused / created events to the row", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "running" });
    let seq = 0;
    const sendEvent = async (name: string, state: string) => {
      seq += 1;
      peer.send({ type: "event", seq, name, at: "x", data: status(id, "web", state) });
      await peer.next("ack", (a) => a.seq === seq);
    };
    await sendEvent("container.paused", "paused");
    expect(row(id)?.state).toBe("paused");
    await sendEvent("container.unpaused", "running");
    expect(row(id)?.state).toBe("running");
  });

  it("wait on a created container waits for it to run and exit", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "created" });
    let done = false;
    const pending = admin()
      .containers.wait({ ref: "web" })
      .then((r) => {
        done = true;
        return r;
      });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    peer.send({
      type: "event",
      seq: 1,
      name: "container.exited",
      at: "x",
      data: status(id, "web", "exited", { exitCode: 3, finishedAt: "2026-01-01T00:00:02.000Z" }),
    });
    expect(await pending).toEqual({ exitCode: 3, state: "exited" });
  });
});
