/** Regression: a failing budget check is logged and retried; it never stops later checks. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newId } from "@berth/core";
import { teams, usageNotifications } from "@berth/db";
import { createFixture, type Fixture } from "../../testing/fixtures";
import { UsageBudgets } from "./usage-budgets";

describe("UsageBudgets.checkDirty", () => {
  let f: Fixture;
  let budgets: UsageBudgets | undefined;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    budgets?.close();
    await f.close();
  });

  it("a check that throws keeps its team dirty and later checks still run", async () => {
    const other = newId();
    f.db.insert(teams).values({ id: other, name: "other" }).run();
    let failing = false;
    const errors: string[] = [];
    budgets = new UsageBudgets(
      f.db,
      (teamId) => {
        if (failing && teamId === f.defaultTeamId) throw new Error("db busy");
        return 20;
      },
      { budgetCheckMs: 3_600_000, logError: (m) => errors.push(m) },
    );
    await budgets.set(f.defaultTeamId, { monthlyAmount: 10, thresholds: [100] });
    await budgets.set(other, { monthlyAmount: 10, thresholds: [100] });
    failing = true;
    await expect(budgets.checkDirty()).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    // The other team was still checked.
    const rows = () => f.db.select().from(usageNotifications).all();
    expect(rows().map((r) => r.teamId)).toEqual([other]);
    // The failed team stayed dirty: the next check notifies it.
    failing = false;
    await budgets.checkDirty();
    expect(
      rows()
        .map((r) => r.teamId)
        .sort(),
    ).toEqual([f.defaultTeamId, other].sort());
  });
});
