/**
 * containers.events and containers.statsStream through the real tRPC caller, gateway and a
 * WebSocket on 127.0.0.1, with the protocol test peer playing the agent (it runs no containers).
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import { newId, type ContainerEvent } from "@berth/core";
import { asc, containerEvents, containers, eq, teams } from "@berth/db";
import { usePeerTest } from "../../testing/connected-peer";
import {
  addUser,
  createFixture,
  insertContainer,
  insertNode,
  type Fixture,
} from "../../testing/fixtures";
import { status, type ProtocolPeer } from "../../testing/protocol-peer";
import { ContainerEventBus } from "../../agents/container-events";
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
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let peer: ProtocolPeer;
  let nodeId: string;
  let seq = 0;
  beforeEach(() => {
    seq = 0;
    ({ f, peer, nodeId } = t);
  });
  const callerFor = (userId: string) => t.callerFor(userId);

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

  /** Drains an events iterator until it ends (a stream bounded by `until`). */
  const drain = async (it: AsyncIterator<unknown>) => {
    const out: ContainerEvent[] = [];
    for (;;) {
      const r = await it.next();
      if (r.done) return out;
      out.push(r.value as ContainerEvent);
    }
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  it("events --since replays stored events in order, then streams live ones", async () => {
    const id = insertContainer(f, nodeId, "web");
    const before = Date.now() - 1;
    await emit("container.started", status(id, "web", "running"));
    await emit(
      "container.exited",
      status(id, "web", "exited", { exitCode: 7, finishedAt: "2026-01-01T00:00:02.000Z" }),
    );
    const events = (await callerFor(f.adminId).containers.events({ since: iso(before) }))[
      Symbol.asyncIterator
    ]();
    expect((await events.next()).value).toMatchObject({ action: "start", id, node: "peer" });
    expect((await events.next()).value).toMatchObject({ action: "die", id, exitCode: 7 });
    const live = events.next();
    await emit("container.removed", { id });
    expect((await live).value).toMatchObject({ action: "destroy", id, name: "web" });
    // A live-only subscription opened now sees none of the history.
    const liveOnly = (await callerFor(f.adminId).containers.events({}))[Symbol.asyncIterator]();
    const first = liveOnly.next();
    const other = insertContainer(f, nodeId, "other");
    await emit("container.paused", status(other, "other", "paused"));
    expect((await first).value).toMatchObject({ action: "pause", id: other });
  });

  it("events --until in the past replays the window and ends; team scoping and filters hold", async () => {
    const otherTeam = newId();
    f.db.insert(teams).values({ id: otherTeam, name: "other" }).run();
    const hidden = insertContainer(f, nodeId, "secret", { teamId: otherTeam });
    const mine = insertContainer(f, nodeId, "mine");
    const start = Date.now() - 1;
    await emit("container.paused", status(hidden, "secret", "paused"));
    await emit("container.paused", status(mine, "mine", "paused"));
    await emit("container.unpaused", status(mine, "mine", "running"));
    await new Promise((r) => setTimeout(r, 5));
    const end = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await emit("container.paused", status(mine, "mine", "paused")); // after --until
    const userId = await addUser(f, "alice", { role: "viewer" });
    const window = { since: iso(start), until: iso(end) };
    const asUser = await drain(
      (await callerFor(userId).containers.events(window))[Symbol.asyncIterator](),
    );
    expect(asUser.map((e) => [e.action, e.name])).toEqual([
      ["pause", "mine"],
      ["unpause", "mine"],
    ]);
    const asAdmin = await drain(
      (await callerFor(f.adminId).containers.events(window))[Symbol.asyncIterator](),
    );
    expect(asAdmin.map((e) => e.name)).toEqual(["secret", "mine", "mine"]);
    // --until alone replays from the oldest kept event.
    const untilOnly = await drain(
      (await callerFor(f.adminId).containers.events({ until: iso(end) }))[Symbol.asyncIterator](),
    );
    expect(untilOnly).toHaveLength(3);
    const filtered = await drain(
      (
        await callerFor(f.adminId).containers.events({
          ...window,
          containers: ["mine"],
          events: ["unpause"],
        })
      )[Symbol.asyncIterator](),
    );
    expect(filtered.map((e) => [e.action, e.id])).toEqual([["unpause", mine]]);
    const backwards = await callerFor(f.adminId).containers.events({
      since: iso(end),
      until: iso(start),
    });
    await expect(backwards[Symbol.asyncIterator]().next()).rejects.toThrow(
      /--until must not be before --since/,
    );
  });

  it("events --until in the future streams live events and ends at that time", async () => {
    const id = insertContainer(f, nodeId, "web");
    // Wide enough that a loaded machine still emits the event before `until` passes.
    const until = Date.now() + 2_000;
    const events = (
      await callerFor(f.adminId).containers.events({
        since: iso(Date.now() - 1),
        until: iso(until),
      })
    )[Symbol.asyncIterator]();
    const first = events.next();
    await emit("container.paused", status(id, "web", "paused"));
    expect((await first).value).toMatchObject({ action: "pause", id });
    expect((await events.next()).done).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(until);
  }, 15_000);

  it("events --until in the future ends even when its timer fires before Date.now() passes `until`", async () => {
    // The stream's timer runs on the monotonic clock: it can fire while Date.now() still equals
    // `until` (and on a loaded machine, with a slewed wall clock, earlier). Here the wall clock
    // stands still at `until` when the timer fires, then moves on.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const until = Date.now() + 50;
      const events = (
        await callerFor(f.adminId).containers.events({
          since: iso(Date.now() - 1),
          until: iso(until),
        })
      )[Symbol.asyncIterator]();
      const end = events.next();
      await new Promise((r) => setImmediate(r)); // the stream armed its timer
      vi.setSystemTime(until);
      await new Promise((r) => setTimeout(r, 200)); // the timer fired: not past `until` yet
      vi.setSystemTime(until + 1);
      const ended = await Promise.race([
        end,
        new Promise((r) => setTimeout(() => r("still open 5 s after `until`"), 5000)),
      ]);
      expect(ended).toMatchObject({ done: true });
    } finally {
      vi.useRealTimers();
    }
  });

  it("events --since switches from replay to live without a gap or a duplicate", async () => {
    const id = insertContainer(f, nodeId, "busy");
    const row = f.db.select().from(containers).where(eq(containers.id, id)).get()!;
    const publish = () =>
      f.gateway.events.publish({
        type: "updated",
        containerId: id,
        row,
        event: "container.paused",
      });
    // More than one replay page (500), so the replay is still running when new events land.
    for (let i = 0; i < 600; i++) publish();
    const events = (
      await callerFor(f.adminId).containers.events({ since: iso(Date.now() - 60_000) })
    )[Symbol.asyncIterator]();
    const got: ContainerEvent[] = [];
    got.push((await events.next()).value as ContainerEvent); // first page read
    for (let i = 0; i < 50; i++) publish(); // stored (second page) and buffered (live) at once
    while (got.length < 650) got.push((await events.next()).value as ContainerEvent);
    const ids = f.db
      .select({ id: containerEvents.id })
      .from(containerEvents)
      .orderBy(asc(containerEvents.id))
      .all();
    expect(ids).toHaveLength(650);
    expect(got.every((e) => e.action === "pause" && e.id === id)).toBe(true);
    // Nothing more is pending: the next event is a new live one, not a late duplicate.
    const next = events.next();
    await emit("container.unpaused", status(id, "busy", "running"));
    expect((await next).value).toMatchObject({ action: "unpause" });
  });

  it("events: one destroy when the agent's removed event beats the remove command's result", async () => {
    const id = insertContainer(f, nodeId, "gone", { state: "exited" });
    const since = new Date(Date.now() - 1).toISOString();
    const removing = callerFor(f.adminId).containers.remove({ ref: "gone", force: false });
    const cmd = await peer.next("command", (c) => c.name === "container.remove", 5000);
    await emit("container.removed", { id });
    peer.send({ type: "result", id: cmd.id, ok: true, data: { removed: true } });
    await removing;
    const events = await drain(
      (await callerFor(f.adminId).containers.events({ since, until: new Date().toISOString() }))[
        Symbol.asyncIterator
      ](),
    );
    expect(events.map((e) => [e.action, e.id])).toEqual([["destroy", id]]);
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

describe("event retention", () => {
  it("prunes events older than maxAge and keeps at most maxRows, the newest", async () => {
    const f = await createFixture({ serverId: SERVER_ID });
    try {
      const nodeId = insertNode(f, "n1");
      const id = insertContainer(f, nodeId, "web");
      const row = f.db.select().from(containers).where(eq(containers.id, id)).get()!;
      let now = 1_000_000_000_000;
      const bus = new ContainerEventBus({
        db: f.db,
        now: () => now,
        retention: {
          maxAgeMs: 10_000,
          maxRows: 5,
          pruneEveryMs: 1_000,
          pruneEveryInserts: 1_000_000,
        },
      });
      const seen: number[] = [];
      bus.subscribeEvents((e) => seen.push(e.id));
      const pauseAt = (ms: number) => {
        now = ms;
        bus.publish({ type: "updated", containerId: id, row, event: "container.paused" });
      };
      for (let i = 0; i < 8; i++) pauseAt(1_000_000_000_000 + i); // no prune yet (< 1 s)
      expect(f.db.select().from(containerEvents).all()).toHaveLength(8);
      pauseAt(1_000_000_002_000); // a prune: the newest 5 stay
      const left = f.db.select().from(containerEvents).orderBy(asc(containerEvents.id)).all();
      expect(left.map((r) => r.id)).toEqual(seen.slice(-5));
      pauseAt(1_000_000_020_000); // a prune: all but this one are older than 10 s
      expect(
        f.db
          .select()
          .from(containerEvents)
          .all()
          .map((r) => r.id),
      ).toEqual(seen.slice(-1));
    } finally {
      await f.close();
    }
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
