/**
 * `usage` frames through the real gateway (HTTP + WebSocket on 127.0.0.1, a protocol-v1 peer):
 * stored and acked with the highest seq, a resend acked again without counting twice, a bad
 * sample refused with an error frame.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { usePeerTest, type ConnectedPeer } from "../../testing/connected-peer";
import { insertContainer, type Fixture } from "../../testing/fixtures";
import { usageSample } from "../../testing/usage";

const SERVER_ID = "testserverid2345678901234a";
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

describe("usage frames through the gateway", () => {
  const t = usePeerTest(SERVER_ID);
  let f: Fixture;
  let c: ConnectedPeer;
  beforeEach(() => {
    ({ f, connected: c } = t);
  });
  // Registered after usePeerTest's hooks, so it runs before the fixture is closed.
  afterEach(() => {
    f.services.usage.close();
  });

  it("stores, acks, ignores a resend, and announces the stored seq at the next welcome", async () => {
    const id = insertContainer(f, c.nodeId, "job");
    const s = (seq: number, cpuNs: number) =>
      usageSample({
        seq,
        containerId: id,
        epoch: new Date(T0).toISOString(),
        at: T0 + seq * 1000,
        cpuNs,
      });
    c.peer.send({ type: "usage", samples: [s(1, 1e9), s(2, 3e9)] });
    expect(await c.peer.next("usage_ack")).toEqual({ type: "usage_ack", seq: 2 });
    c.peer.send({ type: "usage", samples: [s(2, 3e9)] });
    expect(await c.peer.next("usage_ack")).toEqual({ type: "usage_ack", seq: 2 });
    const report = f.services.usage.report(
      { isAdmin: true, teamId: f.defaultTeamId },
      { from: T0 - 60_000, to: T0 + 60_000 },
    );
    expect(report.totals.cpuCoreSeconds).toBeCloseTo(3, 9);

    // A malformed sample is answered with an error frame, never stored.
    c.peer.send({ type: "usage", samples: [{ ...s(3, 4e9), containerId: "nope" }] });
    expect((await c.peer.next("error")).error.message).toMatch(/invalid frame/);

    // What the next welcome announces (usageAckedSeq).
    expect(f.services.usage.sink.ackedSeq(c.nodeId)).toBe(2);
  });
});
