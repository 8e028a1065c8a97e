/**
 * Images belong to teams, over the real tRPC caller, HTTP routes, gateway and WebSocket with a
 * protocol-v1 test peer standing for one node shared by two teams (default: alice; blue: bob).
 * Each command the server sends is answered by hand, so the tests also show which requests never
 * reach the node: another team's image is "not found" before the agent is asked.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newId } from "@berth/core";
import { and, eq, imageClaims, teamMembers, teams, users } from "@berth/db";
import { createCaller } from "../../root";
import { addUser, collect, contextFor, createFixture, type Fixture } from "../../testing/fixtures";
import { runningResult, type ProtocolPeer } from "../../testing/protocol-peer";
import { httpCall, startPeerServer, type PeerServer } from "../../testing/test-server";

const SERVER_ID = "testserverid2345678901234t";
const SYSTEM = `sha256:${"5".repeat(64)}`;
const DA = `sha256:${"a".repeat(64)}`;
const DB = `sha256:${"b".repeat(64)}`;
const APP = "reg.local:5000/alpha/app:1";
const TOOL = "reg.local:5000/lib/tool:1";
const EPOCH = "1970-01-01T00:00:00Z";
const LATER = "2026-01-02T03:04:05Z";

interface Row {
  ref: string;
  digest: string;
  size: number;
  createdAt: string;
}
const row = (ref: string, digest: string, createdAt = LATER): Row => ({
  ref,
  digest,
  size: 100,
  createdAt,
});

describe("images belong to teams", () => {
  let f: Fixture;
  let srv: PeerServer;
  let peer: ProtocolPeer;
  let nodeId: string;
  let aliceToken: string;
  let bobToken: string;
  let blueId: string;

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    srv = await startPeerServer(f, SERVER_ID);
    const c = await srv.connect("peer");
    peer = c.peer;
    nodeId = c.j.nodeId;
    const alice = await addUser(f, "alice");
    const bob = await addUser(f, "bob");
    f.db.delete(teamMembers).where(eq(teamMembers.userId, bob)).run();
    blueId = newId();
    f.db.insert(teams).values({ id: blueId, name: "blue" }).run();
    f.db.insert(teamMembers).values({ teamId: blueId, userId: bob, role: "operator" }).run();
    aliceToken = f.services.auth.createApiToken(alice, "t").token;
    bobToken = f.services.auth.createApiToken(bob, "t").token;
  });
  afterEach(async () => {
    await srv.close();
    await f.close();
  });

  const asAlice = () => createCaller(contextFor(f, { authorization: `Bearer ${aliceToken}` }));
  const asBob = () =>
    createCaller(contextFor(f, { authorization: `Bearer ${bobToken}`, team: "blue" }));
  const asAdmin = () =>
    createCaller(
      contextFor(f, {
        authorization: `Bearer ${f.services.auth.createApiToken(f.adminId, "t").token}`,
      }),
    );

  /** Answers the next `name` command (checking its params) with `data`. */
  async function answer(name: string, data: unknown, params?: Record<string, unknown>) {
    const cmd = await peer.next("command", (c) => c.name === name);
    if (params !== undefined) expect(cmd.params).toMatchObject(params);
    peer.reply(cmd.id, data);
    return cmd;
  }
  const list = (rows: Row[]) => answer("image.list", { images: rows });
  /** Answers the next image.pull stream with its final chunk (or an error). */
  async function pullAnswer(ref: string, digest: string | { kind: string; message: string }) {
    const cmd = await peer.next("command", (c) => c.name === "image.pull");
    expect(cmd.params).toMatchObject({ ref });
    if (typeof digest === "string") {
      peer.send({ type: "stream", id: cmd.id, data: { digest, ref } });
      peer.send({ type: "stream_end", id: cmd.id });
    } else peer.send({ type: "stream_end", id: cmd.id, error: digest });
  }
  /** A pull by `who`, answered by the node with `digest`; resolves once the pull finished. */
  async function pullAs(who: () => ReturnType<typeof asAlice>, ref: string, digest: string) {
    const pulling = drain(who().images.pull({ ref }));
    await pullAnswer(ref, digest);
    await pulling;
  }
  /** Everything a subscription (a promise of one, from a caller) yields. */
  const drain = async (sub: Promise<AsyncIterable<unknown>>) => collect(await sub);
  const claims = () =>
    f.db
      .select({ teamId: imageClaims.teamId, ref: imageClaims.ref, digest: imageClaims.digest })
      .from(imageClaims)
      .where(eq(imageClaims.nodeId, nodeId))
      .all()
      .sort((a, b) => (a.teamId + a.ref).localeCompare(b.teamId + b.ref));
  const sent = (name: string) =>
    peer.frames.filter((fr) => fr.type === "command" && fr.name === name).length;

  it("a pull is stamped for the team; another team sees, inspects, tags, saves and removes nothing of it", async () => {
    await pullAs(asAlice, APP, DA);
    expect(claims()).toEqual([{ teamId: f.defaultTeamId, ref: APP, digest: DA }]);
    const node = [row("busybox:latest", SYSTEM, EPOCH), row(APP, DA)];

    // Alice sees her image and the node's base image; Bob only the base image.
    const aliceList = asAlice().images.list();
    await list(node);
    expect(
      (await aliceList).map((v) => ({ ref: v.ref, teams: v.teams, system: v.system })),
    ).toEqual([
      { ref: "busybox:latest", teams: [], system: true },
      { ref: APP, teams: ["default"], system: false },
    ]);
    const bobList = asBob().images.list();
    await list(node);
    expect((await bobList).map((v) => v.ref)).toEqual(["busybox:latest"]);

    // By name or by id, Alice's image is not found for Bob; the node is asked nothing else.
    for (const ref of [APP, DA, DA.slice(7, 19)]) {
      const inspecting = asBob().images.inspect({ ref });
      await list(node);
      await expect(inspecting).rejects.toMatchObject({ code: "NOT_FOUND" });
      const removing = asBob().images.remove({ ref, force: true });
      await list(node);
      await expect(removing).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
    const tagging = asBob().images.tag({ source: APP, target: "mine:1" });
    await list(node);
    await expect(tagging).rejects.toMatchObject({ code: "NOT_FOUND" });
    // Nor can Bob point Alice's name at his own image.
    const taking = asBob().images.tag({ source: "busybox", target: APP });
    await list(node);
    await expect(taking).rejects.toMatchObject({ code: "CONFLICT" });
    const pushing = drain(asBob().images.push({ source: APP, target: "reg.local:5000/blue/x:1" }));
    await list(node);
    // (a subscription's error reaches a direct caller as the domain error)
    await expect(pushing).rejects.toMatchObject({ kind: "not_found" });
    const saving = httpCall(
      `http://${srv.base}`,
      "GET",
      `/api/images/save?ref=${encodeURIComponent(APP)}`,
      {
        token: bobToken,
        headers: { "x-berth-team": "blue" },
      },
    );
    await list(node);
    expect((await saving).status).toBe(404);
    for (const name of ["image.inspect", "image.tag", "image.remove", "image.push", "image.save"])
      expect(sent(name)).toBe(0);

    // Inspect for Alice shows only her team's names for the image.
    const inspecting = asAlice().images.inspect({ ref: APP });
    await list([...node, row("reg.local:5000/blue/same:1", DA)]);
    await answer(
      "image.inspect",
      {
        digest: DA,
        refs: [APP, "reg.local:5000/blue/same:1"],
        size: 100,
        created: null,
        architecture: "amd64",
        os: "linux",
        config: {},
        layers: [],
        history: [],
      },
      { ref: APP },
    );
    expect((await inspecting).refs).toEqual([APP]);

    // Administrators see every image with the team that holds it.
    const adminList = asAdmin().images.list();
    await list(node);
    expect((await adminList).map((v) => [v.ref, v.teams])).toEqual([
      ["busybox:latest", []],
      [APP, ["default"]],
    ]);
  });

  it("both teams pulling one image each hold it; one team's rmi leaves the other's", async () => {
    await pullAs(asAlice, TOOL, DB);
    await pullAs(asBob, TOOL, DB);
    expect(
      claims()
        .map((c) => c.teamId)
        .sort(),
    ).toEqual([blueId, f.defaultTeamId].sort());
    const node = [row(TOOL, DB)];

    // Alice's rmi drops her hold only: Bob still holds the name, so the node untags nothing.
    const aliceRm = asAlice().images.remove({ ref: TOOL, force: false });
    await list(node);
    expect(await aliceRm).toMatchObject({ untagged: [TOOL], deleted: [] });
    expect(sent("image.remove")).toBe(0);
    expect(claims()).toEqual([{ teamId: blueId, ref: TOOL, digest: DB }]);
    const aliceList = asAlice().images.list();
    await list(node);
    expect(await aliceList).toEqual([]);
    const bobList = asBob().images.list();
    await list(node);
    expect((await bobList).map((v) => [v.ref, v.teams])).toEqual([[TOOL, ["blue"]]]);

    // Bob held it last: his rmi goes to the node, which deletes the image.
    const bobRm = asBob().images.remove({ ref: TOOL, force: false });
    await list(node);
    // Nobody else holds DB: the node may collect it (keep lists no one's hold on it).
    const rm = await answer(
      "image.remove",
      { untagged: [TOOL], deleted: [DB] },
      { ref: TOOL, force: false },
    );
    expect((rm.params as { keep: string[] }).keep).not.toContain(DB);
    expect(await bobRm).toMatchObject({ untagged: [TOOL], deleted: [DB] });
    expect(claims()).toEqual([]);
  });

  it("prune takes only the team's unused images", async () => {
    await pullAs(asAlice, APP, DA);
    await pullAs(asBob, TOOL, DB);
    const pruning = asBob().images.prune({ all: true });
    await list([row(APP, DA), row(TOOL, DB)]);
    // Alice's image stays through Bob's rmi and prune: the node is told to keep what she holds.
    await answer("image.remove", { untagged: [TOOL], deleted: [] }, { ref: TOOL, keep: [DA] });
    // then the node's collector, which never untags by itself for a team
    await answer(
      "image.prune",
      { untagged: [], deleted: [DB], reclaimedBytes: 10 },
      { all: false, keep: [DA] },
    );
    expect(await pruning).toEqual([expect.objectContaining({ untagged: [TOOL], deleted: [DB] })]);
    expect(claims()).toEqual([{ teamId: f.defaultTeamId, ref: APP, digest: DA }]);
  });

  it("run uses the team's image as is, and pulls another team's for the caller first", async () => {
    await pullAs(asAlice, APP, DA);

    // Alice holds it: straight to container.run, no extra question to the node.
    const running = asAlice().containers.run({ spec: { image: APP } });
    const cmd = await peer.next("command", (c) => c.name === "container.run");
    const p = cmd.params as { containerId: string; name: string };
    peer.reply(cmd.id, runningResult(p.containerId, p.name));
    expect(await running).toMatchObject({ state: "running", image: APP });
    expect(sent("image.list")).toBe(0);

    // Bob does not: the node has it, so it is pulled with Bob's rights first, and refused.
    const bobRun = asBob().containers.run({ spec: { image: APP } });
    await list([row(APP, DA)]);
    await pullAnswer(APP, { kind: "not_found", message: "manifest unknown" });
    await expect(bobRun).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(sent("container.run")).toBe(0);
  });

  it("a name pre-claimed by another team does not hand it what a pull with this team's credential fetched", async () => {
    const SECRET = "reg.local:5000/blue/secret:1";
    await pullAs(asAlice, APP, DA);
    // Alice names her own image after Bob's private one, which the node does not have yet.
    const tagging = asAlice().images.tag({ source: APP, target: SECRET });
    await list([row(APP, DA)]);
    await answer("image.tag", { digest: DA }, { source: APP, target: SECRET });
    await tagging;
    // Bob pulls his private image with his credential: the node's name now points at it.
    await pullAs(asBob, SECRET, DB);
    const sort = (xs: { teamId: string; ref: string; digest: string }[]) =>
      [...xs].sort((x, y) => (x.teamId + x.ref).localeCompare(y.teamId + y.ref));
    // Alice keeps her image by id; the name is Bob's alone.
    expect(claims()).toEqual(
      sort([
        { teamId: f.defaultTeamId, ref: "", digest: DA },
        { teamId: f.defaultTeamId, ref: APP, digest: DA },
        { teamId: blueId, ref: SECRET, digest: DB },
      ]),
    );
    const node = [row(APP, DA), row(SECRET, DB)];
    const inspecting = asAlice().images.inspect({ ref: SECRET });
    await list(node);
    await expect(inspecting).rejects.toMatchObject({ code: "NOT_FOUND" });
    // Her run of the name is a pull with her own rights, which the registry refuses.
    const running = asAlice().containers.run({ spec: { image: SECRET } });
    await list(node);
    await pullAnswer(SECRET, { kind: "not_found", message: "manifest unknown" });
    await expect(running).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(sent("container.run")).toBe(0);
    expect(sent("image.inspect")).toBe(0);
  });

  it("a build may start only from the team's images: the node is told which", async () => {
    await pullAs(asAlice, APP, DA);
    await pullAs(asBob, TOOL, DB);
    // Bob's Dockerfile could say FROM Alice's image: the build is told Bob's images only.
    const building = httpCall(`http://${srv.base}`, "POST", "/api/images/build?t=blue/x:1", {
      token: bobToken,
      headers: { "x-berth-team": "blue", "content-type": "application/x-tar" },
      body: Buffer.alloc(10),
    });
    await list([row("busybox:latest", SYSTEM, EPOCH), row(APP, DA), row(TOOL, DB)]);
    const cmd = await peer.next("command", (c) => c.name === "image.build");
    expect((cmd.params as { images?: string[] }).images).toEqual([SYSTEM, DB].sort());
    await peer.next("stream_input", (x) => x.id === cmd.id && x.eof === true);
    const message = `Dockerfile:1: image "${APP}" not found on this node: pull it first`;
    peer.send({ type: "stream_end", id: cmd.id, error: { kind: "not_found", message } });
    expect((await building).buf.toString()).toContain("pull it first");
    // An administrator's build may use any image: no list is sent.
    const adminBuild = httpCall(`http://${srv.base}`, "POST", "/api/images/build?t=x:1", {
      token: f.services.auth.createApiToken(f.adminId, "t").token,
      headers: { "content-type": "application/x-tar" },
      body: Buffer.alloc(10),
    });
    const cmd2 = await peer.next("command", (c) => c.name === "image.build" && c.id !== cmd.id);
    expect(cmd2.params).not.toHaveProperty("images");
    await peer.next("stream_input", (x) => x.id === cmd2.id && x.eof === true);
    peer.send({ type: "stream_end", id: cmd2.id, error: { kind: "runtime", message: "stop" } });
    await adminBuild;
  });

  it("a load never takes another team's name: the name goes back, the loader holds its image by id", async () => {
    await pullAs(asAlice, APP, DA);
    // Bob's archive carried Alice's name for other content (what the node answered `image.load`).
    const bobId = f.db.select().from(users).where(eq(users.username, "bob")).get()!.id;
    const bob = { id: bobId, isAdmin: false, teamId: blueId };
    const loading = f.services.images.loaded(bob, nodeId, [
      { ref: APP, digest: DB },
      { ref: "blue/own:1", digest: DB },
    ]);
    await answer("image.tag", { digest: DA }, { source: DA, target: APP });
    expect(await loading).toEqual([
      { ref: null, digest: DB },
      { ref: "blue/own:1", digest: DB },
    ]);
    expect(claims()).toEqual(
      [
        { teamId: f.defaultTeamId, ref: APP, digest: DA },
        { teamId: blueId, ref: "", digest: DB },
        { teamId: blueId, ref: "blue/own:1", digest: DB },
      ].sort((x, y) => (x.teamId + x.ref).localeCompare(y.teamId + y.ref)),
    );
  });

  it("a load over the system image's name gives it back: the loader holds its image by id", async () => {
    const loading = httpCall(`http://${srv.base}`, "POST", "/api/images/load", {
      token: bobToken,
      headers: { "x-berth-team": "blue", "content-type": "application/x-tar" },
      body: Buffer.alloc(10),
    });
    await list([row("busybox:latest", SYSTEM, EPOCH), row("legacy:1", DA)]);
    const cmd = await peer.next("command", (c) => c.name === "image.load");
    await peer.next("stream_input", (x) => x.id === cmd.id && x.eof === true);
    peer.send({ type: "stream", id: cmd.id, data: { received: 10 } });
    peer.send({
      type: "stream",
      id: cmd.id,
      data: {
        loaded: [
          { ref: "busybox:latest", digest: DB },
          { ref: "legacy:1", digest: DB },
          { ref: "blue/own:1", digest: DB },
        ],
      },
    });
    peer.send({ type: "stream_end", id: cmd.id });
    await answer("image.tag", { digest: SYSTEM }, { source: SYSTEM, target: "busybox:latest" });
    await answer("image.tag", { digest: DA }, { source: DA, target: "legacy:1" });
    const r = await loading;
    expect(r.status).toBe(200);
    expect((r.json as { loaded: unknown }).loaded).toEqual([
      { ref: null, digest: DB },
      { ref: null, digest: DB },
      { ref: "blue/own:1", digest: DB },
    ]);
    expect(claims()).toEqual([
      { teamId: blueId, ref: "", digest: DB },
      { teamId: blueId, ref: "blue/own:1", digest: DB },
    ]);
  });

  it("an administrator assigns an unclaimed image to a team", async () => {
    const node = [row("legacy:1", DA)];
    const bobList = asBob().images.list();
    await list(node);
    expect(await bobList).toEqual([]);
    const assigning = asAdmin().images.assign({ ref: "legacy:1", team: "blue" });
    await list(node);
    await list(node);
    expect((await assigning).map((v) => [v.ref, v.teams])).toEqual([["legacy:1", ["blue"]]]);
    expect(
      f.db
        .select()
        .from(imageClaims)
        .where(and(eq(imageClaims.teamId, blueId), eq(imageClaims.ref, "legacy:1")))
        .all(),
    ).toHaveLength(1);
    await expect(
      asAlice().images.assign({ ref: "legacy:1", team: "default" }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
