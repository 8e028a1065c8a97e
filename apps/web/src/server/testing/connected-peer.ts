/**
 * A berth-server HTTP app on 127.0.0.1 with one protocol test peer joined and greeted (hello →
 * welcome): the agent side of tests that exercise procedures through the real gateway.
 */
import { afterEach, beforeEach } from "vitest";
import { callerFor, createFixture, type Fixture } from "./fixtures";
import type { ProtocolPeer } from "./protocol-peer";
import { startPeerServer } from "./test-server";

export interface ConnectedPeer {
  peer: ProtocolPeer;
  nodeId: string;
  /** `127.0.0.1:<port>` of the server. */
  base: string;
  /** Drops the peer and stops the server (the fixture is closed by the caller). */
  close(): Promise<void>;
}

export async function connectPeer(f: Fixture, serverId: string): Promise<ConnectedPeer> {
  const s = await startPeerServer(f, serverId);
  const { peer, j } = await s.connect("peer");
  return { peer, nodeId: j.nodeId, base: s.base, close: () => s.close() };
}

export interface PeerTest {
  f: Fixture;
  connected: ConnectedPeer;
  peer: ProtocolPeer;
  nodeId: string;
  /** A caller for `userId` whose subscriptions are aborted when the test ends. */
  callerFor(userId: string): ReturnType<typeof callerFor>;
}

/**
 * Registers beforeEach/afterEach hooks that give each test of the calling `describe` a fresh
 * fixture with one connected peer, and close both (and abort its callers' subscriptions) after it.
 * The returned object's fields are set once the hook has run.
 */
export function usePeerTest(serverId: string): PeerTest {
  const controllers: AbortController[] = [];
  const t = {
    callerFor(userId: string) {
      const ac = new AbortController();
      controllers.push(ac);
      return callerFor(t.f, userId, { signal: ac.signal });
    },
  } as PeerTest;
  beforeEach(async () => {
    t.f = await createFixture({ serverId });
    t.connected = await connectPeer(t.f, serverId);
    ({ peer: t.peer, nodeId: t.nodeId } = t.connected);
  });
  afterEach(async () => {
    for (const ac of controllers.splice(0)) ac.abort();
    await t.connected.close();
    await t.f.close();
  });
  return t;
}
