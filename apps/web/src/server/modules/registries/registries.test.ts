/**
 * Registry credentials per team through the real tRPC caller, gateway and a WebSocket on
 * 127.0.0.1 with a protocol-v1 test peer: login/list/logout, the team's credential attached to
 * image.pull / image.push / container.run commands (another team's never), secrets absent from
 * answers, the database and the audit trail; and the at-rest encryption itself.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newId } from "@berth/core";
import { registryCredentials, teamMembers, teams, users } from "@berth/db";
import { beforeEach, describe, expect, it } from "vitest";
import { usePeerTest } from "../../testing/connected-peer";
import { addUser, collect, type Fixture } from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";
import { hashPassword } from "../auth/auth.service";
import { REGISTRY_KEY_FILE, SecretBox, loadOrCreateRegistryKey } from "./secret-box";

const SERVER_ID = "testserverid2345678901234r";
const DIGEST = `sha256:${"c".repeat(64)}`;
const LAYER = `sha256:${"d".repeat(64)}`;
const PASSWORD = "hunter2-registry-secret";

describe("registries.* and the credential attached to image and run commands", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let peer: ProtocolPeer;
  beforeEach(() => {
    ({ f, peer } = t);
  });
  const callerFor = (userId: string) => t.callerFor(userId);
  /** A user in a team of its own. */
  const otherTeamUser = async () => {
    const teamId = newId();
    f.db.insert(teams).values({ id: teamId, name: "other" }).run();
    const id = newId();
    f.db
      .insert(users)
      .values({ id, username: "mallory", passwordHash: await hashPassword("password-123") })
      .run();
    f.db.insert(teamMembers).values({ teamId, userId: id, role: "owner" }).run();
    return id;
  };
  const everything = () =>
    JSON.stringify([f.services.audit.recent(), f.db.select().from(registryCredentials).all()]);

  it("login stores the secret sealed; list and the audit trail never show it", async () => {
    const admin = callerFor(f.adminId);
    const saved = await admin.registries.login({
      registry: "Registry.Example.com:5000",
      username: "alice",
      password: PASSWORD,
    });
    expect(saved).toMatchObject({ registry: "registry.example.com:5000", username: "alice" });
    expect(JSON.stringify(saved)).not.toContain(PASSWORD);
    expect(await admin.registries.list()).toEqual([
      { registry: "registry.example.com:5000", username: "alice", updatedAt: expect.any(Number) },
    ]);
    const row = f.db.select().from(registryCredentials).get()!;
    expect(row.secret).toMatch(/^v1\./);
    expect(everything()).not.toContain(PASSWORD);
    const audit = f.services.audit.recent().find((r) => r.action === "registries.login")!;
    expect(audit).toMatchObject({ result: "ok", target: "Registry.Example.com:5000" });

    // Docker Hub's aliases are one registry; logging in again replaces the credential.
    await admin.registries.login({ registry: "index.docker.io", username: "a", password: "p1" });
    await admin.registries.login({ registry: "docker.io", username: "b", password: "p2" });
    expect((await admin.registries.list()).map((l) => [l.registry, l.username])).toEqual([
      ["docker.io", "b"],
      ["registry.example.com:5000", "alice"],
    ]);
    expect(await admin.registries.logout({ registry: "docker.io" })).toEqual({
      registry: "docker.io",
      removed: true,
    });
    expect(await admin.registries.logout({ registry: "docker.io" })).toMatchObject({
      removed: false,
    });
    await expect(
      admin.registries.login({ registry: "not a host", username: "x", password: "y" }),
    ).rejects.toThrow(/host\[:port\]/);
  });

  it("images.pull sends the team's credential for the ref's registry and relays progress", async () => {
    const admin = callerFor(f.adminId);
    await admin.registries.login({
      registry: "127.0.0.1:5000",
      username: "alice",
      password: PASSWORD,
    });
    const all = collect(await admin.images.pull({ ref: "127.0.0.1:5000/team/app:1" }));
    all.catch(() => undefined);
    const cmd = await peer.next("command", (c) => c.name === "image.pull");
    expect(cmd.params).toEqual({
      ref: "127.0.0.1:5000/team/app:1",
      credential: { username: "alice", password: PASSWORD },
    });
    const progress = { digest: LAYER, kind: "layer", status: "downloading", done: 5, total: 10 };
    peer.send({ type: "stream", id: cmd.id, data: { progress: [progress] } });
    peer.send({
      type: "stream",
      id: cmd.id,
      data: { digest: DIGEST, ref: "127.0.0.1:5000/team/app:1" },
    });
    peer.send({ type: "stream_end", id: cmd.id });
    expect(await all).toEqual([
      { progress: [progress] },
      { digest: DIGEST, ref: "127.0.0.1:5000/team/app:1", nodeName: "peer" },
    ]);
    const rows = f.services.audit.recent().filter((r) => r.action === "images.pull");
    expect(rows).toMatchObject([{ result: "ok", target: "127.0.0.1:5000/team/app:1" }]);
    expect(everything()).not.toContain(PASSWORD);

    // A reference to another registry goes anonymous.
    const anon = collect(await admin.images.pull({ ref: "busybox" }));
    anon.catch(() => undefined);
    const cmd2 = await peer.next("command", (c) => c.name === "image.pull");
    expect(cmd2.params).toEqual({ ref: "busybox" });
    peer.send({
      type: "stream_end",
      id: cmd2.id,
      error: { kind: "unauthenticated", message: "log in first" },
    });
    await expect(anon).rejects.toMatchObject({
      kind: "invalid_state",
      message: expect.stringContaining(
        "log in first: save your team's credential with `berth login docker.io",
      ),
    });
    expect(f.services.audit.recent().filter((r) => r.action === "images.pull")[0]).toMatchObject({
      result: "error",
      error: expect.stringContaining("log in first: save your team's credential"),
    });
  });

  it("another team's credential is never attached; viewers may not pull", async () => {
    await callerFor(f.adminId).registries.login({
      registry: "127.0.0.1:5000",
      username: "alice",
      password: PASSWORD,
    });
    const mallory = callerFor(await otherTeamUser());
    expect(await mallory.registries.list()).toEqual([]);
    const all = collect(
      await mallory.images.push({ source: "busybox", target: "127.0.0.1:5000/team/app:2" }),
    );
    all.catch(() => undefined);
    // A member pushes only its team's images (or the node's seeded busybox): the node's list first.
    const listing = await peer.next("command", (c) => c.name === "image.list");
    peer.reply(listing.id, {
      images: [
        {
          ref: "busybox:latest",
          digest: `sha256:${"5".repeat(64)}`,
          size: 1,
          createdAt: "1970-01-01T00:00:00Z",
        },
      ],
    });
    const cmd = await peer.next("command", (c) => c.name === "image.push");
    expect(cmd.params).toEqual({ source: "busybox", target: "127.0.0.1:5000/team/app:2" });
    peer.send({ type: "stream_end", id: cmd.id });
    await all;
    // Its own login does not touch the first team's.
    await mallory.registries.logout({ registry: "127.0.0.1:5000" });
    expect(await callerFor(f.adminId).registries.list()).toHaveLength(1);

    const viewer = callerFor(await addUser(f, "vic", { role: "viewer" }));
    await expect(viewer.images.pull({ ref: "busybox" }).then(collect)).rejects.toThrow(
      /does not allow image.pull/,
    );
    await expect(
      viewer.registries.login({ registry: "127.0.0.1:5000", username: "v", password: "p" }),
    ).rejects.toThrow(/does not allow image.push/);
  });

  it("images.push and containers.run carry the team's credential; run without one sends pull: {}", async () => {
    const admin = callerFor(f.adminId);
    await admin.registries.login({
      registry: "localhost:5000",
      username: "alice",
      password: PASSWORD,
    });
    const pushing = collect(
      await admin.images.push({ source: "busybox", target: "localhost:5000/team/bb:1" }),
    );
    pushing.catch(() => undefined);
    const push = await peer.next("command", (c) => c.name === "image.push");
    expect(push.params).toMatchObject({ credential: { username: "alice", password: PASSWORD } });
    peer.send({
      type: "stream",
      id: push.id,
      data: { digest: DIGEST, ref: "localhost:5000/team/bb:1" },
    });
    peer.send({ type: "stream_end", id: push.id });
    expect(await pushing).toEqual([
      { digest: DIGEST, ref: "localhost:5000/team/bb:1", nodeName: "peer" },
    ]);

    const running = admin.containers.run({
      name: "pulled",
      spec: { image: "localhost:5000/team/bb:1" },
    });
    running.catch(() => undefined);
    const run = await peer.next("command", (c) => c.name === "container.run");
    expect(run.params).toMatchObject({
      pull: { credential: { username: "alice", password: PASSWORD } },
    });
    peer.send({
      type: "result",
      id: run.id,
      ok: false,
      error: { kind: "unauthenticated", message: "refused" },
    });
    // A registry's refusal is not the caller's session failing: 412 with how to log in.
    await expect(running).rejects.toMatchObject({
      code: "PRECONDITION_FAILED",
      message:
        "refused: save your team's credential with `berth login localhost:5000 -u USER --password-stdin`",
    });

    const plain = admin.containers.create({ spec: { image: "busybox" } });
    plain.catch(() => undefined);
    const create = await peer.next("command", (c) => c.name === "container.create");
    expect((create.params as { pull: unknown }).pull).toEqual({});
    peer.send({
      type: "result",
      id: create.id,
      ok: false,
      error: { kind: "not_found", message: "no" },
    });
    await expect(plain).rejects.toThrow();
    expect(everything()).not.toContain(PASSWORD);
  });
});

describe("registry secret encryption at rest", () => {
  it("round-trips, and fails with another key or for another row", () => {
    const key = randomBytes(32);
    const box = new SecretBox(() => key);
    const sealed = box.seal("s3cret", "team\nreg:5000");
    expect(sealed).not.toContain("s3cret");
    expect(box.seal("s3cret", "team\nreg:5000")).not.toBe(sealed); // fresh IV each time
    expect(box.open(sealed, "team\nreg:5000")).toBe("s3cret");
    expect(() => new SecretBox(() => randomBytes(32)).open(sealed, "team\nreg:5000")).toThrow(
      /cannot be decrypted/,
    );
    expect(() => box.open(sealed, "other\nreg:5000")).toThrow(/cannot be decrypted/);
    const [v, iv, tag, ct] = sealed.split(".");
    const flipped = Buffer.from(ct!, "base64url");
    flipped[0]! ^= 1;
    expect(() =>
      box.open([v, iv, tag, flipped.toString("base64url")].join("."), "team\nreg:5000"),
    ).toThrow(/cannot be decrypted/);
    expect(() => box.open("garbage", "x")).toThrow(/unknown format/);
  });

  it("keeps its key in the data dir: 0600, created once, refused when readable by others", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-regkey-"));
    try {
      const k1 = loadOrCreateRegistryKey(dir);
      expect(k1).toHaveLength(32);
      expect(statSync(join(dir, REGISTRY_KEY_FILE)).mode & 0o777).toBe(0o600);
      expect(loadOrCreateRegistryKey(dir).equals(k1)).toBe(true);
      const sealed = new SecretBox(() => k1).seal("pw", "b");
      expect(new SecretBox(() => loadOrCreateRegistryKey(dir)).open(sealed, "b")).toBe("pw");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
