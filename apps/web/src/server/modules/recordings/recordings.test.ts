/**
 * Session recording through the real exec stream path: tRPC caller → containers.exec → gateway
 * → a WebSocket on 127.0.0.1 with the protocol test peer playing the agent. An interactive
 * session with recording on makes an asciicast file with its output and resizes (not its
 * input), linked from both audit records; owners and admins list and replay it, viewers and
 * operators may not, another team's is not found; non-interactive execs and a server with
 * recording off record nothing; retention removes old recordings and their files.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newId } from "@berth/core";
import { eq, sessionRecordings, teamMembers, teams } from "@berth/db";
import { usePeerTest } from "../../testing/connected-peer";
import { addUser, collect, insertContainer, type Fixture } from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";
import { RecordingsService } from "./recordings.service";

const SERVER_ID = "testserverid2345678901234r";
const b64 = (t: string) => Buffer.from(t).toString("base64");

describe("session recordings", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let peer: ProtocolPeer;
  let nodeId: string;
  let dir: string;
  let rec: RecordingsService;
  let clock: number;

  const enable = (opts: { enabled?: boolean; maxBytes?: number } = {}) => {
    void rec?.close();
    rec = new RecordingsService(f.db, {
      enabled: opts.enabled ?? true,
      dir,
      maxBytes: opts.maxBytes ?? 1 << 20,
      retentionDays: 30,
      now: () => clock,
      audit: f.services.audit,
    });
    f.services.containers.setSessionRecorder(rec);
    f.services.recordings = rec;
  };

  beforeEach(() => {
    ({ f, peer, nodeId } = t);
    dir = mkdtempSync(join(tmpdir(), "berth-rec-"));
    clock = Date.now();
    enable();
  });
  afterEach(async () => {
    await rec.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs an interactive `sh` on "web": a resize, typed input, output, exit 0. */
  async function session(userId: string, opts: { tty?: boolean; interactive?: boolean } = {}) {
    const caller = t.callerFor(userId);
    const sub = await caller.containers.exec({
      ref: "web",
      argv: ["sh"],
      tty: opts.tty ?? true,
      interactive: opts.interactive ?? true,
      size: { cols: 100, rows: 30 },
    });
    const it = sub[Symbol.asyncIterator]();
    const first = (await it.next()).value as { sessionId: string };
    const cmd = await peer.next("command", (c) => c.name === "container.exec");
    await caller.containers.execInput({
      sessionId: first.sessionId,
      resize: { cols: 120, rows: 40 },
    });
    await caller.containers.execInput({ sessionId: first.sessionId, data: b64("echo s3cret\r") });
    peer.send({ type: "stream", id: cmd.id, data: { stdout: "$ echo hi\r\nhi\r\n" } });
    peer.send({ type: "stream", id: cmd.id, data: { stdout: "\x1b[1m$ \x1b[0m" } });
    peer.send({ type: "stream", id: cmd.id, data: { exitCode: 0 } });
    peer.send({ type: "stream_end", id: cmd.id });
    for (let r = await it.next(); !r.done; r = await it.next());
  }

  it("records an interactive session's output and resizes, linked from its audit records", async () => {
    const id = insertContainer(f, nodeId, "web");
    await session(f.adminId);
    const list = await t.callerFor(f.adminId).recordings.list({});
    expect(list).toHaveLength(1);
    const r = list[0]!;
    expect(r).toMatchObject({
      teamId: f.defaultTeamId,
      userId: f.adminId,
      username: "admin",
      containerId: id,
      containerName: "web",
      nodeId,
      argv: ["sh"],
      tty: true,
      width: 100,
      height: 30,
      exitCode: 0,
      bytes: Buffer.byteLength("$ echo hi\r\nhi\r\n\x1b[1m$ \x1b[0m"),
      truncated: false,
    });
    expect(r.endedAt).not.toBeNull();
    const got = await t.callerFor(f.adminId).recordings.get({ id: r.id });
    expect(got.header).toMatchObject({ version: 2, width: 100, height: 30, command: "sh" });
    expect(got.events.map(([, kind, data]) => [kind, data])).toEqual([
      ["r", "120x40"],
      ["o", "$ echo hi\r\nhi\r\n"],
      ["o", "\x1b[1m$ \x1b[0m"],
    ]);
    // Input (what was typed) is not recorded.
    expect(JSON.stringify(got.events)).not.toContain("s3cret");
    const audit = f.services.audit.recent();
    expect(audit.find((a) => a.action === "containers.exec")!.params).toMatchObject({
      recording: r.id,
    });
    expect(audit.find((a) => a.action === "containers.exec.end")!.params).toMatchObject({
      recording: r.id,
      exitCode: 0,
    });
    // The replay itself is audited.
    expect(audit.find((a) => a.action === "recordings.replay")).toMatchObject({
      actorId: f.adminId,
      result: "ok",
      target: `web (${id.slice(0, 12)})`,
      params: { recording: r.id },
    });
  });

  it("owners replay their team's; viewers and operators may not; other teams' are not found", async () => {
    insertContainer(f, nodeId, "web");
    await session(f.adminId);
    const [r] = await t.callerFor(f.adminId).recordings.list({});
    const owner = await addUser(f, "olga", { role: "owner" });
    const viewer = await addUser(f, "vera", { role: "viewer" });
    const operator = await addUser(f, "otto", { role: "operator" });
    await expect(t.callerFor(owner).recordings.list({})).resolves.toHaveLength(1);
    await expect(t.callerFor(owner).recordings.get({ id: r!.id })).resolves.toMatchObject({
      recording: { id: r!.id },
    });
    for (const who of [viewer, operator]) {
      await expect(t.callerFor(who).recordings.list({})).rejects.toMatchObject({
        code: "FORBIDDEN",
      });
      await expect(t.callerFor(who).recordings.get({ id: r!.id })).rejects.toMatchObject({
        code: "FORBIDDEN",
      });
    }
    // An owner of another team sees none of this team's recordings.
    const other = newId();
    f.db.insert(teams).values({ id: other, name: "other" }).run();
    const stranger = await addUser(f, "sam", { role: "owner" });
    f.db.delete(teamMembers).where(eq(teamMembers.userId, stranger)).run();
    f.db.insert(teamMembers).values({ teamId: other, userId: stranger, role: "owner" }).run();
    await expect(t.callerFor(stranger).recordings.list({})).resolves.toEqual([]);
    await expect(t.callerFor(stranger).recordings.get({ id: r!.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect(
      f.services.audit
        .recent()
        .find((a) => a.action === "recordings.replay" && a.actorId === stranger),
    ).toMatchObject({ result: "error", error: expect.stringMatching(/no recording/) as unknown });
  });

  it("caps the output with a marker", async () => {
    enable({ maxBytes: 8 });
    insertContainer(f, nodeId, "web");
    await session(f.adminId);
    const [r] = await t.callerFor(f.adminId).recordings.list({});
    expect(r).toMatchObject({ bytes: 8, truncated: true });
    const got = await t.callerFor(f.adminId).recordings.get({ id: r!.id });
    expect(got.events.filter((e) => e[1] === "o")[0]![2]).toBe("$ echo h");
    expect(got.events.some((e) => e[1] === "m" && e[2] === "truncated")).toBe(true);
  });

  it("records nothing when off, nor for non-interactive execs", async () => {
    insertContainer(f, nodeId, "web");
    const sub = await t.callerFor(f.adminId).containers.exec({ ref: "web", argv: ["true"] });
    const all = collect(sub);
    all.catch(() => undefined);
    const cmd = await peer.next("command", (c) => c.name === "container.exec");
    peer.send({ type: "stream", id: cmd.id, data: { stdout: "x" } });
    peer.send({ type: "stream_end", id: cmd.id });
    await all;
    enable({ enabled: false });
    await session(f.adminId);
    expect(f.db.select().from(sessionRecordings).all()).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
    expect(
      f.services.audit.recent().find((a) => a.action === "containers.exec")!.params,
    ).not.toHaveProperty("recording");
  });

  it("a session still open when the server stops is closed with its output and an end", async () => {
    insertContainer(f, nodeId, "web");
    const caller = t.callerFor(f.adminId);
    const sub = await caller.containers.exec({ ref: "web", argv: ["sh"], tty: true });
    const it = sub[Symbol.asyncIterator]();
    await it.next();
    const cmd = await peer.next("command", (c) => c.name === "container.exec");
    peer.send({ type: "stream", id: cmd.id, data: { stdout: "still here\r\n" } });
    expect((await it.next()).value).toMatchObject({ stdout: "still here\r\n" });
    expect(rec.recording).toBe(1);
    await rec.close();
    expect(rec.recording).toBe(0);
    const [row] = f.db.select().from(sessionRecordings).all();
    expect(row).toMatchObject({ exitCode: null, bytes: 12, truncated: false });
    expect(row!.endedAt).not.toBeNull();
    const got = await caller.recordings.get({ id: row!.id });
    expect(got.events.filter((e) => e[1] === "o").map((e) => e[2])).toEqual(["still here\r\n"]);
    // The session's own end later changes nothing (finish runs once).
    peer.send({ type: "stream", id: cmd.id, data: { exitCode: 0 } });
    peer.send({ type: "stream_end", id: cmd.id });
    for (let r = await it.next(); !r.done; r = await it.next());
    expect(f.db.select().from(sessionRecordings).all()[0]).toMatchObject({ exitCode: null });
  });

  it("a recording whose row cannot be stored is not started and leaves no file open", async () => {
    const errors: string[] = [];
    const r2 = new RecordingsService(f.db, {
      enabled: true,
      dir,
      logError: (m) => errors.push(m),
    });
    const started = r2.start({
      teamId: f.defaultTeamId,
      userId: f.adminId,
      username: "admin",
      // NOT NULL column: the insert fails.
      container: { id: null as unknown as string, name: "web", nodeId },
      argv: ["sh"],
      tty: true,
    });
    expect(started).toBeNull();
    expect(errors).toEqual([expect.stringContaining("session recording not started")]);
    expect(r2.recording).toBe(0);
    await expect.poll(() => readdirSync(dir)).toEqual([]);
    await r2.close();
  });

  it("retention removes old recordings with their files", async () => {
    insertContainer(f, nodeId, "web");
    await session(f.adminId);
    const [r] = await t.callerFor(f.adminId).recordings.list({});
    const file = join(dir, `${r!.id}.cast`);
    expect(existsSync(file)).toBe(true);
    clock += 29 * 86_400_000;
    expect(rec.prune()).toBe(0);
    clock += 2 * 86_400_000;
    expect(rec.prune()).toBe(1);
    expect(existsSync(file)).toBe(false);
    await expect(t.callerFor(f.adminId).recordings.list({})).resolves.toEqual([]);
  });
});
