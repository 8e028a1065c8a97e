/**
 * containers.exec through the real tRPC caller, gateway and a WebSocket on 127.0.0.1, with the
 * protocol test peer playing the agent: chunks relayed in order, the exit code, agent errors,
 * the permission, and the audit row written for the exec start. Interactive exec: the session
 * id chunk, containers.execInput forwarded as stream_input frames (not audited when it
 * succeeds), a foreign user's input refused, and the session gone once the stream ends.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { usePeerTest } from "../../testing/connected-peer";
import { createCaller } from "../../root";
import {
  addUser,
  collect,
  contextFor,
  insertContainer,
  type Fixture,
} from "../../testing/fixtures";
import type { ProtocolPeer } from "../../testing/protocol-peer";

const SERVER_ID = "testserverid2345678901234x";

describe("containers.exec", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let peer: ProtocolPeer;
  let nodeId: string;
  beforeEach(() => {
    ({ f, peer, nodeId } = t);
  });
  const callerFor = (userId: string) => t.callerFor(userId);

  it("relays stdout/stderr chunks then the exit code, and audits the exec", async () => {
    const id = insertContainer(f, nodeId, "web");
    const sub = await callerFor(f.adminId).containers.exec({
      ref: "web",
      argv: ["sh", "-c", "echo out; exit 3"],
      user: "nobody",
      env: ["TOKEN=s3cret"],
    });
    const all = collect(sub);
    all.catch(() => undefined); // a failed assertion must not leave it unhandled at teardown
    const cmd = await peer.next("command", (c) => c.name === "container.exec");
    expect(cmd.params).toEqual({
      containerId: id,
      argv: ["sh", "-c", "echo out; exit 3"],
      user: "nobody",
      env: ["TOKEN=s3cret"],
      detach: false,
    });
    peer.send({ type: "stream", id: cmd.id, data: { stdout: "out\n" } });
    peer.send({ type: "stream", id: cmd.id, data: { stderr: "err\n" } });
    peer.send({ type: "stream", id: cmd.id, data: { exitCode: 3 } });
    peer.send({ type: "stream_end", id: cmd.id });
    expect(await all).toEqual([{ stdout: "out\n" }, { stderr: "err\n" }, { exitCode: 3 }]);
    const rows = f.services.audit.recent().filter((r) => r.action === "containers.exec");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorId: f.adminId,
      target: `web (${id.slice(0, 12)})`,
      result: "ok",
      error: null,
      params: { argv: ["sh", "-c", "echo out; exit 3"], user: "nobody", env: ["TOKEN=[redacted]"] },
    });
    // The session's end is recorded too, after its start, with the exit code.
    const end = f.services.audit.recent().filter((r) => r.action === "containers.exec.end");
    expect(end).toHaveLength(1);
    expect(end[0]).toMatchObject({
      actorId: f.adminId,
      target: `web (${id.slice(0, 12)})`,
      result: "ok",
      params: { exitCode: 3 },
    });
    expect(end[0]!.seq).toBeGreaterThan(rows[0]!.seq!);
    expect(f.services.audit.verify().ok).toBe(true);
  });

  it("an agent refusal fails the subscription with its message and audits an error", async () => {
    insertContainer(f, nodeId, "stopped", { state: "exited" });
    const sub = await callerFor(f.adminId).containers.exec({ ref: "stopped", argv: ["true"] });
    const all = collect(sub);
    all.catch(() => undefined); // a failed assertion must not leave it unhandled at teardown
    const cmd = await peer.next("command", (c) => c.name === "container.exec");
    const message = "container stopped is not running";
    peer.send({ type: "stream_end", id: cmd.id, error: { kind: "invalid_state", message } });
    await expect(all).rejects.toThrow(message);
    const rows = f.services.audit.recent().filter((r) => r.action === "containers.exec");
    expect(rows).toMatchObject([{ result: "error", error: message }]);
  });

  it("an unknown container is refused and audited; viewers may not exec", async () => {
    const sub = await callerFor(f.adminId).containers.exec({ ref: "nope", argv: ["true"] });
    await expect(collect(sub)).rejects.toThrow(/no container "nope"/);
    expect(f.services.audit.recent().filter((r) => r.action === "containers.exec")).toMatchObject([
      { result: "error", target: "nope" },
    ]);
    insertContainer(f, nodeId, "web");
    const viewer = await addUser(f, "vic", { role: "viewer" });
    const asViewer = async () =>
      collect(await callerFor(viewer).containers.exec({ ref: "web", argv: ["true"] }));
    await expect(asViewer()).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });

  it("rejects invalid input before contacting the agent", async () => {
    insertContainer(f, nodeId, "web");
    const run = async (input: Parameters<ReturnType<typeof callerFor>["containers"]["exec"]>[0]) =>
      collect(await callerFor(f.adminId).containers.exec(input));
    await expect(run({ ref: "web", argv: [] })).rejects.toThrow(/exec needs a command/);
    await expect(run({ ref: "web", argv: ["x"], env: ["NOEQUALS"] })).rejects.toThrow(/KEY=VALUE/);
    expect(peer.frames.filter((fr) => fr.type === "command")).toEqual([]);
  });

  describe("interactive (-i / -t)", () => {
    const b64 = (t: string) => Buffer.from(t).toString("base64");

    /** Opens `exec -it` on "web"; returns the session id, the agent command and the chunks. */
    const openSession = async (
      userId: string,
      extra: { tty?: boolean; interactive?: boolean } = { tty: true, interactive: true },
    ) => {
      const sub = await callerFor(userId).containers.exec({
        ref: "web",
        argv: ["sh"],
        size: { cols: 100, rows: 30 },
        ...extra,
      });
      const it = sub[Symbol.asyncIterator]();
      const first = await it.next();
      const cmd = await peer.next("command", (c) => c.name === "container.exec");
      const rest = (async () => {
        const out: unknown[] = [];
        for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
        return out;
      })();
      rest.catch(() => undefined);
      return { first: first.value as { sessionId?: string }, cmd, rest };
    };

    it("the first chunk is a session id; input is forwarded in order and not audited", async () => {
      const id = insertContainer(f, nodeId, "web");
      const { first, cmd, rest } = await openSession(f.adminId);
      expect(first).toEqual({ sessionId: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
      expect(cmd.params).toEqual({
        containerId: id,
        argv: ["sh"],
        env: [],
        detach: false,
        tty: true,
        interactive: true,
        size: { cols: 100, rows: 30 },
      });
      const caller = callerFor(f.adminId);
      const sessionId = first.sessionId!;
      await caller.containers.execInput({ sessionId, resize: { cols: 120, rows: 40 } });
      await caller.containers.execInput({ sessionId, data: b64("echo hi\r") });
      await caller.containers.execInput({ sessionId, data: b64("x"), eof: true });
      const inputs = [
        await peer.next("stream_input"),
        await peer.next("stream_input"),
        await peer.next("stream_input"),
      ];
      expect(inputs).toEqual([
        { type: "stream_input", id: cmd.id, resize: { cols: 120, rows: 40 } },
        { type: "stream_input", id: cmd.id, data: b64("echo hi\r") },
        { type: "stream_input", id: cmd.id, data: b64("x"), eof: true },
      ]);
      peer.send({ type: "stream", id: cmd.id, data: { stdout: "hi\r\n" } });
      peer.send({ type: "stream", id: cmd.id, data: { exitCode: 0 } });
      peer.send({ type: "stream_end", id: cmd.id });
      expect(await rest).toEqual([{ stdout: "hi\r\n" }, { exitCode: 0 }]);
      const actions = f.services.audit.recent().map((r) => r.action);
      expect(actions.filter((a) => a === "containers.exec")).toHaveLength(1);
      expect(actions.filter((a) => a === "containers.execInput")).toEqual([]);
      expect(f.services.audit.recent().find((r) => r.action === "containers.exec")).toMatchObject({
        params: { argv: ["sh"], tty: true, interactive: true },
      });
    });

    it("another user's input is refused as not found (and audited without the data)", async () => {
      insertContainer(f, nodeId, "web");
      const { first, cmd } = await openSession(f.adminId);
      const other = await addUser(f, "otto", { role: "operator" });
      await expect(
        callerFor(other).containers.execInput({
          sessionId: first.sessionId!,
          data: b64("rm -rf /\r"),
        }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });
      const row = f.services.audit.recent().find((r) => r.action === "containers.execInput");
      expect(row).toMatchObject({ actorId: other, result: "error" });
      expect(row!.params).toEqual({ sessionId: first.sessionId });
      await expect(
        callerFor(f.adminId).containers.execInput({
          sessionId: "A".repeat(32),
          eof: true,
        }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect(peer.frames.filter((fr) => fr.type === "stream_input")).toEqual([]);
      peer.send({ type: "stream_end", id: cmd.id });
    });

    it("the session is gone once the stream ends (and when it is cancelled)", async () => {
      insertContainer(f, nodeId, "web");
      const a = await openSession(f.adminId);
      peer.send({ type: "stream", id: a.cmd.id, data: { exitCode: 0 } });
      peer.send({ type: "stream_end", id: a.cmd.id });
      await a.rest;
      await expect(
        callerFor(f.adminId).containers.execInput({ sessionId: a.first.sessionId!, eof: true }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });

      // cancelled by the client: the agent gets `cancel`, the session is removed
      const ac = new AbortController();
      const token = f.services.auth.createApiToken(f.adminId, "t2").token;
      const caller = createCaller(contextFor(f, { authorization: `Bearer ${token}` }), {
        signal: ac.signal,
      });
      const sub = await caller.containers.exec({ ref: "web", argv: ["cat"], interactive: true });
      const it = sub[Symbol.asyncIterator]();
      const { value } = await it.next();
      const cmd = await peer.next("command", (c) => c.name === "container.exec");
      expect(cmd.params).toMatchObject({ interactive: true });
      expect(cmd.params).not.toHaveProperty("tty");
      const pending = it.next();
      ac.abort();
      await pending.catch(() => undefined);
      expect(await peer.next("cancel")).toEqual({ type: "cancel", id: cmd.id });
      await expect(
        callerFor(f.adminId).containers.execInput({
          sessionId: (value as { sessionId: string }).sessionId,
          eof: true,
        }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });
    });

    it("-t alone takes resizes but no stdin; -i alone no resizes; -d excludes both", async () => {
      insertContainer(f, nodeId, "web");
      const t = await openSession(f.adminId, { tty: true });
      const caller = callerFor(f.adminId);
      await expect(
        caller.containers.execInput({ sessionId: t.first.sessionId!, data: b64("x") }),
      ).rejects.toThrow(/stdin is not open/);
      await caller.containers.execInput({
        sessionId: t.first.sessionId!,
        resize: { cols: 10, rows: 5 },
      });
      expect(await peer.next("stream_input")).toMatchObject({ resize: { cols: 10, rows: 5 } });
      peer.send({ type: "stream_end", id: t.cmd.id });
      await t.rest;

      const i = await openSession(f.adminId, { interactive: true });
      await expect(
        caller.containers.execInput({
          sessionId: i.first.sessionId!,
          resize: { cols: 10, rows: 5 },
        }),
      ).rejects.toThrow(/no terminal/);
      peer.send({ type: "stream_end", id: i.cmd.id });
      await i.rest;

      const run = async () =>
        collect(
          await caller.containers.exec({ ref: "web", argv: ["sh"], tty: true, detach: true }),
        );
      await expect(run()).rejects.toThrow(/-d cannot be combined with -i or -t/);
      await expect(caller.containers.execInput({ sessionId: i.first.sessionId! })).rejects.toThrow(
        /send data, eof or resize/,
      );
    });

    it("a plain exec yields no session id", async () => {
      insertContainer(f, nodeId, "web");
      const sub = await callerFor(f.adminId).containers.exec({ ref: "web", argv: ["true"] });
      const all = collect(sub);
      const cmd = await peer.next("command", (c) => c.name === "container.exec");
      peer.send({ type: "stream", id: cmd.id, data: { exitCode: 0 } });
      peer.send({ type: "stream_end", id: cmd.id });
      expect(await all).toEqual([{ exitCode: 0 }]);
    });
  });
});
