import { describe, expect, it } from "vitest";
import { usageReportToCsv, type UsageReport } from "@berth/core";
import { parseTime, usageInput, usageTable } from "./usage.command";

const NOW = Date.parse("2026-11-27T12:00:00Z");

const zero = {
  cpuCoreSeconds: 0,
  memoryGbHours: 0,
  networkRxGb: 0,
  networkTxGb: 0,
  blockIoGb: 0,
  containerHours: 0,
  cost: 0,
};
const report: UsageReport = {
  from: NOW - 3_600_000,
  to: NOW,
  by: "container",
  step: "total",
  memory: "used",
  currency: "USD",
  rows: [
    {
      period: NOW - 3_600_000,
      key: "a".repeat(64),
      label: 'web, "v2"',
      ...zero,
      cpuCoreSeconds: 12.5,
      cost: 0.25,
    },
    {
      period: NOW - 3_600_000,
      key: "b".repeat(64),
      label: "db",
      ...zero,
      cpuCoreSeconds: 7.5,
      cost: 0.15,
    },
  ],
  totals: { ...zero, cpuCoreSeconds: 20, cost: 0.4 },
};

describe("berth usage", () => {
  it("reads times as ISO, now or a duration ago", () => {
    expect(parseTime("now", NOW, "--to")).toBe(NOW);
    expect(parseTime("90m", NOW, "--from")).toBe(NOW - 90 * 60_000);
    expect(parseTime("7d", NOW, "--from")).toBe(NOW - 7 * 86_400_000);
    expect(parseTime("2026-11-01", NOW, "--from")).toBe(Date.parse("2026-11-01T00:00:00Z"));
    expect(() => parseTime("yesterday", NOW, "--from")).toThrow(/invalid --from "yesterday"/);
  });

  it("defaults to the last 24 hours by container and refuses bad flags with a hint", () => {
    expect(usageInput({}, NOW)).toEqual({
      from: NOW - 86_400_000,
      to: NOW,
      by: "container",
      step: "total",
      memory: "used",
    });
    expect(usageInput({ by: "label:app", step: "day", team: "ops" }, NOW)).toMatchObject({
      by: "label:app",
      step: "day",
      team: "ops",
    });
    expect(() => usageInput({ by: "planet" }, NOW)).toThrow(/invalid --by "planet"/);
    expect(() => usageInput({ from: "1h", to: "2h" }, NOW)).toThrow(/--from must be before --to/);
  });

  it("prints a table with a TOTAL line and a CSV whose rows add up to it", () => {
    const table = usageTable(report).split("\n");
    expect(table[0]).toMatch(/^CONTAINER\s+CPU \(core-s\)/);
    expect(table.at(-1)).toMatch(/^TOTAL\s+20\.00\s/);
    const csv = usageReportToCsv(report).trim().split("\n");
    expect(csv[0]).toBe(
      "period,key,label,cpuCoreSeconds,memoryGbHours,networkRxGb,networkTxGb,blockIoGb,containerHours,cost",
    );
    expect(csv[1]).toContain('"web, ""v2"""');
    expect(csv.at(-1)).toBe("total,,,20,0,0,0,0,0,0.4");
  });
});
