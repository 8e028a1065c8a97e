/**
 * containers.events and containers.statsStream through the real tRPC caller, gateway and a
 * WebSocket on 127.0.0.1, with the protocol test peer playing the agent (it runs no containers).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newId, type ContainerEvent } from "@berth/core";
import { teams } from "@berth/db";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { createCaller } from "../../root";
import {
  addUser,
  contextFor,
  createFixture,
  insertContainer,
  type Fixture,
} from "../../testing/fixtures";
import { status, type ProtocolPeer } from "../../testing/protocol-peer";
import { dockerActions, refMatches } from "./container-streams";

const SERVER_ID = "testserverid2345678901234s";

function statsOf(id: string, name: string, totalNs: number) {
  return {
    id,
    name,
    takenAt: Date.now(),
    cpu: { totalNs, systemNs: totalNs * 10, onlineCpus: 2 },
    memory: { usageBytes: 4096, limitBytes: null, cacheBytes: 0 },
    pids: { current: 1, limit: null },
    blkio: { readBytes: 0, writeBytes: 0 },
  };
}

describe("containers.events and containers.statsStream", () => {
  let f: Fixture;
  let connected: ConnectedPeer;
  let peer: ProtocolPeer;
  let nodeId: string;
  let seq = 0;
  const controllers: AbortController[] = [];

  beforeEach(async () => {
    seq = 0;
    f = await createFixture({ serverId: SERVER_ID });
    connected = await connectPeer(f, SERVER_ID);
    ({ peer, nodeId } = connected);
  });

  afterEach(async () => {
    for (const ac of controllers.splice(0)) ac.abort();
    await connected.close();
    await f.close();
  });

  /** A caller whose subscriptions end when the test ends. */
  const callerFor = (userId: string) => {
    const ac = new AbortController();
    controllers.push(ac);
    const token = f.services.auth.createApiToken(userId, "t").token;
    return createCaller(contextFor(f, { authorization: `Bearer ${token}` }), {
      signal: ac.signal,
    });
  };

  const emit = async (name: string, data: unknown) => {
    seq += 1;
    const s = seq;
    peer.send({ type: "event", seq: s, name, at: "x", data });
    await peer.next("ack", (a) => a.seq === s);
  };

  it("events: yields die with the exit code when the agent reports container.exited", async () => {
    const id = insertContainer(f, nodeId, "web");
    const sub = await callerFor(f.adminId).containers.events({});
    const events = sub[Symbol.asyncIterator]();
    const next = events.next();
    await emit(
      "container.exited",
      status(id, "web", "exited", { exitCode: 3, finishedAt: "2026-01-01T00:00:02.000Z" }),
    );
    const { value } = await next;
    expect(value).toMatchObject({
      type: "container",
      action: "die",
      id,
      name: "web",
      image: "busybox",
      node: "peer",
      exitCode: 3,
    } satisfies Partial<ContainerEvent>);
    expect(Number(BigInt((value as ContainerEvent).timeNano) / 1_000_000n)).toBeGreaterThan(
      Date.now() - 60_000,
    );
    await emit("container.removed", { id });
    expect((await events.next()).value).toMatchObject({ action: "destroy", id, name: "web" });
  });

  it("events: an OOM kill is reported as oom then die", async () => {
    const id = insertContainer(f, nodeId, "hog");
    const events = (await callerFor(f.adminId).containers.events({}))[Symbol.asyncIterator]();
    const first = events.next();
    await emit(
      "container.exited",
      status(id, "hog", "exited", {
        exitCode: 137,
        oomKilled: true,
        finishedAt: "2026-01-01T00:00:02.000Z",
      }),
    );
    expect((await first).value).toMatchObject({ action: "oom", id });
    expect((await events.next()).value).toMatchObject({ action: "die", exitCode: 137 });
  });

  it("events: a team member sees only its team's containers; --filter container narrows", async () => {
    const otherTeam = newId();
    f.db.insert(teams).values({ id: otherTeam, name: "other" }).run();
    const hidden = insertContainer(f, nodeId, "secret", { teamId: otherTeam });
    const mine = insertContainer(f, nodeId, "mine");
    const other = insertContainer(f, nodeId, "other-mine");
    const userId = await addUser(f, "alice", { role: "viewer" });
    const all = (await callerFor(userId).containers.events({}))[Symbol.asyncIterator]();
    const filtered = (
      await callerFor(f.adminId).containers.events({ containers: [mine.slice(0, 8)] })
    )[Symbol.asyncIterator]();
    const allFirst = all.next();
    const filteredFirst = filtered.next();
    await emit("container.paused", status(hidden, "secret", "paused"));
    await emit("container.paused", status(other, "other-mine", "paused"));
    await emit("container.paused", status(mine, "mine", "paused"));
    expect((await allFirst).value).toMatchObject({ action: "pause", id: other });
    expect((await all.next()).value).toMatchObject({ action: "pause", id: mine });
    expect((await filteredFirst).value).toMatchObject({ action: "pause", id: mine });
  });

  it("statsStream: samples every running container once per round, skipping stopped ones", async () => {
    const a = insertContainer(f, nodeId, "a");
    insertContainer(f, nodeId, "stopped", { state: "exited" });
    const sub = await callerFor(f.adminId).containers.statsStream({});
    const rounds = sub[Symbol.asyncIterator]();
    for (const [round, totalNs] of [
      [1, 1_000],
      [2, 5_000],
    ] as const) {
      const pending = rounds.next();
      const cmd = await peer.next("command", undefined, 5000);
      expect(cmd).toMatchObject({ name: "container.stats", params: { containerId: a } });
      peer.send({ type: "result", id: cmd.id, ok: true, data: statsOf(a, "a", totalNs) });
      const { value } = await pending;
      expect(value, `round ${round}`).toMatchObject({
        samples: [{ id: a, name: "a", stats: { cpu: { totalNs } } }],
      });
    }
    // Exactly one command per container per round: nothing else was asked of the agent.
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });

  it("statsStream: an unknown container fails with a clear error", async () => {
    const sub = await callerFor(f.adminId).containers.statsStream({ refs: ["nope"] });
    await expect(sub[Symbol.asyncIterator]().next()).rejects.toThrow(/no container "nope"/);
  });
});

describe("docker event mapping", () => {
  it("maps agent events to docker actions and ignores changes no event caused", () => {
    const row = { oomKilled: false, health: null } as never;
    expect(dockerActions({ type: "updated", containerId: "x", row })).toEqual([]);
    expect(
      dockerActions({ type: "updated", containerId: "x", row, event: "container.started" }),
    ).toEqual(["start"]);
    expect(dockerActions({ type: "removed", containerId: "x" })).toEqual([]);
    expect(
      dockerActions({
        type: "updated",
        containerId: "x",
        row: { oomKilled: false, health: { status: "healthy" } } as never,
        event: "container.health_status",
      }),
    ).toEqual(["health_status: healthy"]);
  });

  it("matches refs by id, name or hex prefix of 3+ characters", () => {
    const row = { id: "abcdef".padEnd(64, "0"), name: "web" };
    expect(refMatches("web", row)).toBe(true);
    expect(refMatches("abc", row)).toBe(true);
    expect(refMatches("ab", row)).toBe(false);
    expect(refMatches("api", row)).toBe(false);
  });
});
