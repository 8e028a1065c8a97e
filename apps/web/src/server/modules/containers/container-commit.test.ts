/**
 * containers.commit through the real tRPC caller, gateway and WebSocket on 127.0.0.1 with a
 * protocol-v1 test peer (the agent commits for real in images.integration.test.ts): the command
 * sent, `--change` lines parsed before the node is asked, the answer, permissions, the audit row.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { createCaller } from "../../root";
import {
  addUser,
  contextFor,
  createFixture,
  insertContainer,
  type Fixture,
} from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234m";
const DIGEST = `sha256:${"a".repeat(64)}`;

describe("containers.commit over a real agent socket", () => {
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

  it("sends container.commit with the parsed changes and returns the new image", async () => {
    const id = insertContainer(f, connected.nodeId, "web");
    const pending = callerFor(f.adminId).containers.commit({
      ref: "web",
      image: "snap:1",
      changes: ['CMD ["sh"]', "ENV A=1"],
      message: "before the upgrade",
    });
    const cmd = await peer.next("command");
    expect(cmd).toMatchObject({
      name: "container.commit",
      params: {
        containerId: id,
        ref: "snap:1",
        changes: { cmd: ["sh"], env: ["A=1"] },
        comment: "before the upgrade",
        pause: true,
      },
    });
    peer.send({ type: "result", id: cmd.id, ok: true, data: { digest: DIGEST, ref: "snap:1" } });
    expect(await pending).toMatchObject({
      digest: DIGEST,
      ref: "snap:1",
      nodeId: connected.nodeId,
    });
    expect(f.services.audit.recent().find((a) => a.action === "containers.commit")).toMatchObject({
      result: "ok",
      target: "web → snap:1",
    });
  });

  it("refuses a bad --change, a bad reference and viewers before asking the node", async () => {
    insertContainer(f, connected.nodeId, "web");
    const admin = callerFor(f.adminId);
    await expect(
      admin.containers.commit({ ref: "web", changes: ["RUN rm -rf /"] }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("CMD, ENTRYPOINT, ENV and WORKDIR"),
    });
    await expect(admin.containers.commit({ ref: "web", image: "Bad Ref" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    const viewer = callerFor(await addUser(f, "vic", { role: "viewer" }));
    await expect(viewer.containers.commit({ ref: "web" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(admin.containers.commit({ ref: "nope" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });
});
