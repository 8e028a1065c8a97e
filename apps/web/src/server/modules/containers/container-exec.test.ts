/**
 * containers.exec through the real tRPC caller, gateway and a WebSocket on 127.0.0.1, with the
 * protocol test peer playing the agent: chunks relayed in order, the exit code, agent errors,
 * the permission, and the audit row written for the exec start.
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

const SERVER_ID = "testserverid2345678901234x";

describe("containers.exec", () => {
  let f: Fixture;
  let connected: ConnectedPeer;
  let peer: ProtocolPeer;
  let nodeId: string;
  const controllers: AbortController[] = [];

  beforeEach(async () => {
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

  const collect = async (sub: AsyncIterable<unknown>) => {
    const out: unknown[] = [];
    for await (const c of sub) out.push(c);
    return out;
  };

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
});
