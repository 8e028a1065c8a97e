/**
 * containers.update and containers.stats through the real tRPC caller, gateway and WebSocket on
 * 127.0.0.1, with a test peer that speaks protocol v1 (it runs no containers: the agent's own
 * integration tests cover runc and cgroups). Checks what is sent, what is stored, and errors.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ContainerSpec } from "@berth/core";
import { auditEvents, containers, eq } from "@berth/db";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { createCaller } from "../../root";
import { contextFor, createFixture, insertContainer, type Fixture } from "../../testing/fixtures";
import { status, type ProtocolPeer } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234b";
const MiB = 2 ** 20;

describe("containers.update / containers.stats over a real agent socket", () => {
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
  const row = (id: string) => f.db.select().from(containers).where(eq(containers.id, id)).get()!;

  it("update sends the partial limits, stores the merged spec, and is audited", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "running" });
    const pending = admin().containers.update({
      ref: "web",
      limits: { memoryBytes: 128 * MiB, pidsLimit: 50 },
    });
    const cmd = await peer.next("command");
    expect(cmd.name).toBe("container.update");
    expect(cmd.params).toEqual({
      containerId: id,
      limits: { memoryBytes: 128 * MiB, pidsLimit: 50 },
    });
    peer.send({ type: "result", id: cmd.id, ok: true, data: status(id, "web", "running") });
    const view = await pending;
    expect(view).toMatchObject({
      id,
      state: "running",
      limits: { memoryBytes: 128 * MiB, pidsLimit: 50 },
    });
    expect((row(id).spec as ContainerSpec).limits).toMatchObject({
      memoryBytes: 128 * MiB,
      pidsLimit: 50,
    });
    const audit = f.db.select().from(auditEvents).all();
    expect(audit.find((a) => a.action === "containers.update")).toMatchObject({
      result: "ok",
      actorName: "admin",
    });
  });

  it("update: the agent's refusal surfaces with its kind and leaves the row unchanged", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "running" });
    const before = row(id).spec;
    const pending = admin().containers.update({ ref: "web", limits: { cpusetCpus: "0-63" } });
    const cmd = await peer.next("command");
    peer.send({
      type: "result",
      id: cmd.id,
      ok: false,
      error: { kind: "invalid_input", message: "cpuset CPUs 2-63 do not exist on this node" },
    });
    await expect(pending).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "cpuset CPUs 2-63 do not exist on this node",
    });
    expect(row(id).spec).toEqual(before);
  });

  it("update refuses an empty limits object and a stopped container before asking the agent", async () => {
    insertContainer(f, nodeId, "web", { state: "running" });
    insertContainer(f, nodeId, "old", { state: "exited" });
    await expect(admin().containers.update({ ref: "web", limits: {} })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    await expect(
      admin().containers.update({ ref: "old", limits: { pidsLimit: 5 } }),
    ).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });

  it("stats relays the agent's sample, validated by ContainerStatsSchema", async () => {
    const id = insertContainer(f, nodeId, "web", { state: "running" });
    const pending = admin().containers.stats({ ref: "web" });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "container.stats", params: { containerId: id } });
    const sample = {
      id,
      name: "web",
      takenAt: 1_700_000_000_000,
      cpu: { totalNs: 5e9, systemNs: 9e12, onlineCpus: 2 },
      memory: { usageBytes: 10 * MiB, limitBytes: 64 * MiB, cacheBytes: MiB },
      pids: { current: 3, limit: 50 },
      blkio: { readBytes: 4096, writeBytes: 0 },
    };
    peer.send({ type: "result", id: cmd.id, ok: true, data: sample });
    expect(await pending).toEqual(sample);
  });

  it("stats: a malformed agent answer is an error, not data", async () => {
    insertContainer(f, nodeId, "web", { state: "running" });
    const pending = admin().containers.stats({ ref: "web" });
    const cmd = await peer.next("command");
    peer.send({ type: "result", id: cmd.id, ok: true, data: { cpu: "lots" } });
    await expect(pending).rejects.toThrow();
  });
});
