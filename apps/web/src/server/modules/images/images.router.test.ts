/**
 * images.inspect/tag/remove/prune through the real tRPC caller, gateway and WebSocket on
 * 127.0.0.1 with a protocol-v1 test peer (the agent's image store is tested for real in
 * apps/node-agent: image-admin.test.ts and images.integration.test.ts). Checks the command each
 * procedure sends, results and refusals coming back, permissions and the audit trail.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { createCaller } from "../../root";
import { addUser, contextFor, createFixture, type Fixture } from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234i";
const DIGEST = `sha256:${"b".repeat(64)}`;

describe("images.* over a real agent socket", () => {
  let f: Fixture;
  let connected: ConnectedPeer;
  let peer: ProtocolPeer;

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    connected = await connectPeer(f, SERVER_ID);
    ({ peer } = connected);
  });
  afterEach(async () => {
    await connected.close();
    await f.close();
  });

  const callerFor = (userId: string) =>
    createCaller(
      contextFor(f, {
        authorization: `Bearer ${f.services.auth.createApiToken(userId, "t").token}`,
      }),
    );

  it("inspect and tag go to the only online node and return its answer", async () => {
    const admin = callerFor(f.adminId);
    const inspecting = admin.images.inspect({ ref: "busybox" });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "image.inspect", params: { ref: "busybox" } });
    const details = {
      digest: DIGEST,
      refs: ["busybox:latest"],
      size: 10,
      created: null,
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["sh"] },
      layers: [],
      history: [],
    };
    peer.send({ type: "result", id: cmd.id, ok: true, data: details });
    expect(await inspecting).toMatchObject({ ...details, nodeId: connected.nodeId });

    const tagging = admin.images.tag({ source: "busybox", target: "reg.local:5000/t/bb:1" });
    const tagCmd = await peer.next("command");
    expect(tagCmd).toMatchObject({
      name: "image.tag",
      params: { source: "busybox", target: "reg.local:5000/t/bb:1" },
    });
    peer.send({ type: "result", id: tagCmd.id, ok: true, data: { digest: DIGEST } });
    expect(await tagging).toMatchObject({ digest: DIGEST });
    expect(f.services.audit.recent().map((r) => r.action)).toContain("images.tag");
  });

  it("rm passes force and returns the agent's refusal as a conflict", async () => {
    const admin = callerFor(f.adminId);
    const removing = admin.images.remove({ ref: "app:1" });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "image.remove", params: { ref: "app:1", force: false } });
    const message = "image app:1 (bbbbbbbbbbbb) is used by container 0123456789ab";
    peer.send({ type: "result", id: cmd.id, ok: false, error: { kind: "conflict", message } });
    await expect(removing).rejects.toMatchObject({ code: "CONFLICT", message });

    const forced = admin.images.remove({ ref: "app:1", force: true });
    const cmd2 = await peer.next("command");
    expect(cmd2.params).toEqual({ ref: "app:1", force: true, keep: [] });
    peer.send({
      type: "result",
      id: cmd2.id,
      ok: true,
      data: { untagged: ["app:1"], deleted: [] },
    });
    expect(await forced).toMatchObject({ untagged: ["app:1"], deleted: [] });
  });

  it("prune goes to every online node; viewers may read but not change images", async () => {
    const pruning = callerFor(f.adminId).images.prune({ all: true });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({ name: "image.prune", params: { all: true } });
    peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: { untagged: ["app:3"], deleted: [DIGEST], reclaimedBytes: 1234 },
    });
    expect(await pruning).toEqual([
      expect.objectContaining({ untagged: ["app:3"], deleted: [DIGEST], reclaimedBytes: 1234 }),
    ]);

    const viewer = callerFor(await addUser(f, "vic", { role: "viewer" }));
    const before = peer.frames.filter((fr) => fr.type === "command").length;
    await expect(viewer.images.remove({ ref: "busybox" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(viewer.images.prune({})).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(viewer.images.tag({ source: "busybox", target: "x:1" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    expect(peer.frames.filter((fr) => fr.type === "command")).toHaveLength(before);
  });

  it("refuses malformed references before contacting the agent", async () => {
    const admin = callerFor(f.adminId);
    await expect(admin.images.inspect({ ref: "UPPER/Case" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    await expect(
      admin.images.tag({ source: "busybox", target: "bad target" }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });
});
