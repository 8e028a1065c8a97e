/**
 * `usage` frames through the real gateway (HTTP + WebSocket on 127.0.0.1, a protocol-v1 peer):
 * stored and acked with the highest seq, a resend acked again without counting twice, a bad
 * sample refused with an error frame.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UsageSample } from "@berth/core";
import { connectPeer, type ConnectedPeer } from "../../testing/connected-peer";
import { createFixture, insertContainer, type Fixture } from "../../testing/fixtures";

const SERVER_ID = "testserverid2345678901234a";
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

describe("usage frames through the gateway", () => {
  let f: Fixture;
  let c: ConnectedPeer;
  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
    c = await connectPeer(f, SERVER_ID);
  });
  afterEach(async () => {
    await c.close();
    f.services.usage.close();
    await f.close();
  });

  it("stores, acks, ignores a resend, and announces the stored seq at the next welcome", async () => {
    const id = insertContainer(f, c.nodeId, "job");
    const s = (seq: number, cpuNs: number): UsageSample => ({
      seq,
      containerId: id,
      epoch: new Date(T0).toISOString(),
      at: T0 + seq * 1000,
      cpuNs,
      memBytes: 0,
      memByteSec: 0,
      memLimitBytes: null,
      pids: 1,
      blkReadBytes: 0,
      blkWriteBytes: 0,
      netRxBytes: 0,
      netTxBytes: 0,
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
