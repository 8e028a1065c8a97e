/**
 * Usage accounting on the server: ingest of cumulative samples (exactly once, epochs, resets,
 * spreading over minutes), reports (group-by, steps, totals that add up), prices, budgets with a
 * real loopback webhook, and who may see or change what through the tRPC router.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { newId, type UsageSample } from "@berth/core";
import { containers, eq, pools, teamMembers, teams, usageNotifications, nodes } from "@berth/db";
import { createCaller } from "../../root";
import {
  addUser,
  contextFor,
  createFixture,
  insertContainer,
  insertNode,
  type Fixture,
} from "../../testing/fixtures";
import { usageSample } from "../../testing/usage";
import { stampAttribution } from "./usage-ingest";
import { UsageService } from "./usage.service";

/** An hour boundary three hours ago (per-minute rows are kept 14 days). */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
const EPOCH = new Date(T0).toISOString();
const GiB = 1024 ** 3;

function sample(seq: number, containerId: string, over: Partial<UsageSample>): UsageSample {
  return usageSample({ seq, containerId, epoch: EPOCH, at: T0, ...over });
}

describe("usage service", () => {
  let f: Fixture;
  let nodeId: string;
  let cid: string;
  const admin = { isAdmin: true, teamId: "" };

  beforeEach(async () => {
    f = await createFixture();
    admin.teamId = f.defaultTeamId;
    nodeId = insertNode(f, "n1");
    cid = insertContainer(f, nodeId, "web", {
      spec: { image: "busybox", labels: { app: "shop" } },
    });
  });
  afterEach(async () => {
    f.services.usage.close();
    await f.close();
  });

  const range = { from: T0 - 3_600_000, to: T0 + 3_600_000 };

  it("turns cumulative samples into deltas once: a resent batch changes nothing", () => {
    const u = f.services.usage;
    const batch = [
      sample(1, cid, {
        at: T0 + 10_000,
        cpuNs: 5e9,
        memByteSec: 10 * GiB,
        netRxBytes: 1000,
        netTxBytes: 500,
      }),
      sample(2, cid, {
        at: T0 + 20_000,
        cpuNs: 8e9,
        memByteSec: 20 * GiB,
        netRxBytes: 3000,
        netTxBytes: 700,
      }),
    ];
    expect(u.sink.ingest(nodeId, batch)).toBe(2);
    expect(u.sink.ingest(nodeId, batch)).toBe(2); // repeat: acked again, not counted
    expect(u.sink.ackedSeq(nodeId)).toBe(2);
    const r = u.report(admin, { ...range, by: "container" });
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({ key: cid, label: "web" });
    expect(r.totals.cpuCoreSeconds).toBeCloseTo(8, 9);
    expect(r.totals.memoryGbHours).toBeCloseTo((20 * GiB) / 1e9 / 3600, 9);
    expect(r.totals.networkRxGb).toBeCloseTo(3000 / 1e9, 12);
    expect(r.totals.networkTxGb).toBeCloseTo(700 / 1e9, 12);
    // From the start of the run (the epoch) to the last sample: 20 s.
    expect(r.totals.containerHours).toBeCloseTo(20 / 3600, 9);
  });

  it("a new epoch restarts the cgroup counters; a network counter that went down is a reset", () => {
    const u = f.services.usage;
    const epoch2 = new Date(T0 + 60_000).toISOString();
    u.sink.ingest(nodeId, [
      sample(1, cid, { at: T0 + 30_000, cpuNs: 10e9, netRxBytes: 5000, final: true }),
      // A tick that raced the exit: after the final sample of its run, ignored.
      sample(2, cid, { at: T0 + 31_000, cpuNs: 11e9, netRxBytes: 5100 }),
      sample(3, cid, { epoch: epoch2, at: T0 + 70_000, cpuNs: 2e9, netRxBytes: 5200 }),
      sample(4, cid, { epoch: epoch2, at: T0 + 80_000, cpuNs: 3e9, netRxBytes: 100 }),
    ]);
    const r = u.report(admin, { ...range, by: "team" });
    expect(r.totals.cpuCoreSeconds).toBeCloseTo(13, 9);
    expect(r.totals.networkRxGb * 1e9).toBeCloseTo(5000 + 200 + 100, 3);
    expect(r.totals.containerHours * 3600).toBeCloseTo(30 + 20, 6);
  });

  it("spreads a gap over the minutes it covers; minute rows add up to the total", () => {
    const u = f.services.usage;
    u.sink.ingest(nodeId, [
      sample(1, cid, { at: T0 + 60_000, cpuNs: 60e9 }),
      // The agent was away for three minutes: 180 s of CPU over 3 minutes.
      sample(2, cid, { at: T0 + 240_000, cpuNs: 240e9 }),
    ]);
    const r = u.report(admin, { ...range, by: "container", step: "minute" });
    expect(r.rows.map((x) => [x.period - T0, Math.round(x.cpuCoreSeconds)])).toEqual([
      [0, 60],
      [60_000, 60],
      [120_000, 60],
      [180_000, 60],
    ]);
    const sum = r.rows.reduce((a, x) => a + x.cpuCoreSeconds, 0);
    expect(sum).toBeCloseTo(r.totals.cpuCoreSeconds, 9);
    const hourly = u.report(admin, {
      from: T0 - 10 * 86_400_000,
      to: T0 + 86_400_000,
      step: "day",
    });
    expect(hourly.totals.cpuCoreSeconds).toBeCloseTo(240, 6);
  });

  it("per-minute rows past the retention are pruned; the hourly ones keep the amounts", () => {
    const u = f.services.usage;
    const old = T0 - 20 * 86_400_000;
    u.sink.ingest(nodeId, [
      sample(1, cid, { epoch: new Date(old).toISOString(), at: old + 30_000, cpuNs: 7e9 }),
    ]);
    expect(u.prune()).toBe(1);
    const r = u.report(admin, { from: old - 3_600_000, to: old + 3_600_000, by: "team" });
    expect(r.totals.cpuCoreSeconds).toBeCloseTo(7, 9);
    expect(() =>
      u.report(admin, { from: old - 3_600_000, to: old + 3_600_000, step: "minute" }),
    ).toThrow(/minute steps cover at most two days of the last 14/);
  });

  it("attribution is stamped once: moving the container later does not rewrite its usage", () => {
    const u = f.services.usage;
    u.sink.ingest(nodeId, [sample(1, cid, { at: T0 + 10_000, cpuNs: 1e9 })]);
    const other = newId();
    f.db.insert(teams).values({ id: other, name: "other" }).run();
    f.db.update(containers).set({ teamId: other }).where(eq(containers.id, cid)).run();
    u.sink.ingest(nodeId, [sample(2, cid, { at: T0 + 20_000, cpuNs: 2e9 })]);
    const r = u.report(admin, { ...range, by: "team" });
    expect(r.rows.map((x) => [x.key, x.cpuCoreSeconds])).toEqual([[f.defaultTeamId, 2]]);
    const byLabel = u.report(admin, { ...range, by: "label:app" });
    expect(byLabel.rows.map((x) => x.key)).toEqual(["shop"]);
  });

  it("samples for another node's container are not billed", () => {
    const n2 = insertNode(f, "n2");
    expect(f.services.usage.sink.ingest(n2, [sample(1, cid, { at: T0 + 1000, cpuNs: 1e9 })])).toBe(
      1,
    );
    expect(f.services.usage.report(admin, range).totals.cpuCoreSeconds).toBe(0);
  });

  it("prices turn amounts into cost; a pool's price wins over the default", () => {
    const u = f.services.usage;
    // cid is stamped (as at create) before its node joins the pool: no pool.
    stampAttribution(f.db, f.db.select().from(containers).where(eq(containers.id, cid)).get()!);
    const poolId = newId();
    f.db.insert(pools).values({ id: poolId, name: "gpu" }).run();
    f.db.update(nodes).set({ poolId }).where(eq(nodes.id, nodeId)).run();
    const c2 = insertContainer(f, nodeId, "gpu-job");
    u.setPrice({ unit: "cpu_core_second", price: 0.001 });
    u.setPrice({ unit: "cpu_core_second", price: 0.01, pool: "gpu" });
    u.setPrice({ unit: "container_hour", price: 3.6 });
    u.sink.ingest(nodeId, [sample(1, cid, { at: T0 + 1000, cpuNs: 100e9 })]);
    u.sink.ingest(nodeId, [sample(2, c2, { at: T0 + 1000, cpuNs: 100e9 })]);
    const r = u.report(admin, { ...range, by: "pool" });
    const cost = Object.fromEntries(r.rows.map((x) => [x.label, x.cost]));
    expect(cost["(no pool)"]).toBeCloseTo(0.1 + 0.001, 9);
    expect(cost["gpu"]).toBeCloseTo(1 + 0.001, 9);
    expect(r.totals.cost).toBeCloseTo(1.102, 9);
    expect(u.listPrices()).toHaveLength(3);
  });

  describe("budgets", () => {
    let hook: Server;
    let calls: { body: unknown }[];
    let url: string;
    beforeEach(async () => {
      calls = [];
      hook = createServer((req: IncomingMessage, res) => {
        let b = "";
        req.on("data", (c: Buffer) => (b += c.toString()));
        req.on("end", () => {
          calls.push({ body: JSON.parse(b) });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/budget`;
    });
    afterEach(() => new Promise<void>((r) => hook.close(() => r())));

    it("refuses a loopback webhook unless the server allows private targets", async () => {
      await expect(
        f.services.usage.setBudget(admin, { monthlyAmount: 10, webhookUrl: url }),
      ).rejects.toMatchObject({
        kind: "invalid_input",
        message: expect.stringContaining("BERTH_WEBHOOK_ALLOW_PRIVATE=1") as unknown,
      });
      expect(f.services.usage.listBudgets(admin)).toEqual([]);
    });

    it("crossing thresholds makes one notification each and POSTs the webhook once", async () => {
      // The receiver is on loopback: this server allows private webhook targets.
      const u = new UsageService(f.db, { webhookAllowPrivate: true, budgetCheckMs: 3_600_000 });
      onTestFinished(() => u.close());
      const now = Date.now();
      const epoch = new Date(now - 60_000).toISOString();
      u.setPrice({ unit: "cpu_core_second", price: 1 });
      await u.setBudget(admin, { monthlyAmount: 10, thresholds: [50, 100], webhookUrl: url });
      u.sink.ingest(nodeId, [sample(1, cid, { epoch, at: now - 1000, cpuNs: 6e9 })]);
      await u.budgets.checkDirty();
      expect(calls.map((c) => (c.body as { threshold: number }).threshold)).toEqual([50]);
      u.sink.ingest(nodeId, [sample(2, cid, { epoch, at: now, cpuNs: 12e9 })]);
      await u.budgets.checkDirty();
      await u.budgets.checkDirty();
      expect(calls.map((c) => (c.body as { threshold: number }).threshold)).toEqual([50, 100]);
      expect(calls[1]!.body).toMatchObject({
        type: "budget.threshold_crossed",
        spent: 12,
        budget: 10,
      });
      const notes = u.notifications(admin);
      expect(notes.map((n) => [n.threshold, n.webhookResult])).toEqual([
        [100, "ok"],
        [50, "ok"],
      ]);
      expect(f.db.select().from(usageNotifications).all()).toHaveLength(2);
      expect(u.listBudgets(admin)[0]).toMatchObject({ monthlyAmount: 10, spent: 12, percent: 120 });
    });
  });

  describe("permissions through the router", () => {
    const callerFor = (userId: string) =>
      createCaller(
        contextFor(f, {
          authorization: `Bearer ${f.services.auth.createApiToken(userId, "t").token}`,
        }),
      );

    it("usage.read sees its own team only; budget.manage and admin guard the changes", async () => {
      const viewer = await addUser(f, "vera", { role: "viewer" });
      const billing = await addUser(f, "bill");
      f.db
        .update(teamMembers)
        .set({ role: "billing-viewer" })
        .where(eq(teamMembers.userId, billing))
        .run();
      const owner = await addUser(f, "olga", { role: "owner" });
      const operator = await addUser(f, "otto", { role: "operator" });
      const other = newId();
      f.db.insert(teams).values({ id: other, name: "other" }).run();

      for (const who of [viewer, billing]) {
        const r = await callerFor(who).usage.report(range);
        expect(r.totals.cpuCoreSeconds).toBe(0);
        // Another team's usage answers like an unknown team (no existence leak).
        const theirs = await callerFor(who)
          .usage.report({ ...range, team: "other" })
          .catch((e: unknown) => e);
        const unknown = await callerFor(who)
          .usage.report({ ...range, team: "no-such-team" })
          .catch((e: unknown) => e);
        expect(theirs).toMatchObject({ code: "NOT_FOUND" });
        expect(unknown).toMatchObject({ code: "NOT_FOUND" });
        expect((theirs as Error).message.replace("other", "X")).toBe(
          (unknown as Error).message.replace("no-such-team", "X"),
        );
      }
      await expect(callerFor(operator).usage.setBudget({ monthlyAmount: 5 })).rejects.toMatchObject(
        { code: "FORBIDDEN" },
      );
      await expect(
        callerFor(owner).usage.setPrice({ unit: "container_hour", price: 1 }),
      ).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(callerFor(owner).usage.setBudget({ monthlyAmount: 5 })).resolves.toMatchObject({
        monthlyAmount: 5,
        thresholds: [50, 80, 100],
      });
      await expect(
        callerFor(owner).usage.setBudget({ team: "other", monthlyAmount: 5 }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(
        callerFor(f.adminId).usage.report({ ...range, team: "other" }),
      ).resolves.toMatchObject({ rows: [] });
    });
  });
});
