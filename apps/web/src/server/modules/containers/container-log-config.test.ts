/**
 * `--log-opt max-size/max-file` through the real tRPC caller, gateway and WebSocket on 127.0.0.1,
 * with a test peer that speaks protocol v1: the spec's logConfig reaches the agent's
 * container.run, is stored, and inspect (containers.get) shows it. The rotation itself is the
 * agent's (apps/node-agent monitor/log-rotation.ts, with its own root integration tests).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { createCaller } from "../../root";
import { contextFor, createFixture, type Fixture } from "../../testing/fixtures";
import { status } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234l";

describe("containers.run with a log config", () => {
  let f: Fixture;
  let connected: ConnectedPeer;

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    connected = await connectPeer(f, SERVER_ID);
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

  it("sends logConfig to the agent and shows it in the view; null without one", async () => {
    const { peer } = connected;
    const running = admin().containers.run({
      name: "rotated",
      spec: { image: "busybox", logConfig: { maxSize: 10 * 2 ** 20, maxFile: 3 } },
    });
    const cmd = await peer.next("command");
    const params = cmd.params as { containerId: string; spec: Record<string, unknown> };
    expect(params.spec.logConfig).toEqual({ maxSize: 10 * 2 ** 20, maxFile: 3 });
    peer.send({
      type: "result",
      id: cmd.id,
      ok: true,
      data: status(params.containerId, "rotated", "running"),
    });
    expect((await running).logConfig).toEqual({ maxSize: 10 * 2 ** 20, maxFile: 3 });
    expect((await admin().containers.get({ ref: "rotated" })).logConfig).toEqual({
      maxSize: 10 * 2 ** 20,
      maxFile: 3,
    });

    const plain = admin().containers.run({ name: "plain", spec: { image: "busybox" } });
    const cmd2 = await peer.next("command");
    const p2 = cmd2.params as { containerId: string; spec: Record<string, unknown> };
    expect(p2.spec.logConfig).toBeUndefined();
    peer.send({
      type: "result",
      id: cmd2.id,
      ok: true,
      data: status(p2.containerId, "plain", "running"),
    });
    expect((await plain).logConfig).toBeNull();
  });

  it("refuses out-of-range options before anything reaches an agent", async () => {
    await expect(
      admin().containers.run({ spec: { image: "busybox", logConfig: { maxSize: 1024 } } }),
    ).rejects.toThrow(/at least 4 KiB/);
    await expect(
      admin().containers.run({ spec: { image: "busybox", logConfig: { maxFile: 2 } } }),
    ).rejects.toThrow(/max-file needs a max-size/);
  });
});
