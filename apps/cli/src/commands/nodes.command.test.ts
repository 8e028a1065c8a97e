/** The fleet commands' pure parts: label arguments, the node / pool / join-token tables. */
import { describe, expect, it } from "vitest";
import { parseLabelArgs } from "@berth/core";
import { FleetNodeViewSchema, JoinTokenViewSchema } from "../api/fleet-views";
import { formatTable } from "../format/docker-format";
import { joinTokenRows, labelsText, NODE_COLUMNS, nodeRows, parseTtl } from "./nodes.command";

const NOW = Date.parse("2026-01-01T12:00:00Z");

describe("fleet commands", () => {
  it("parses key=value to set and key- to remove; refuses malformed labels", () => {
    expect(parseLabelArgs(["zone=eu-1", "berth.io/gpu=a10", "old-", "empty="])).toEqual({
      set: { zone: "eu-1", "berth.io/gpu": "a10", empty: "" },
      remove: ["old"],
    });
    expect(() => parseLabelArgs(["novalue"])).toThrow(/use key=value or key-/);
    expect(() => parseLabelArgs(["bad key=x"])).toThrow(/label keys use/);
  });

  it("prints capacity as allocated/total, availability, pool, labels and last seen", () => {
    const node = FleetNodeViewSchema.parse({
      id: "n1",
      name: "gpu-1",
      status: "offline",
      facts: null,
      lastSeenAt: NOW - 120_000,
      createdAt: NOW - 1e6,
      containers: { running: 2, total: 5 },
      labels: { zone: "eu", tier: "gpu" },
      poolName: "gpu",
      cordoned: true,
      agentVersion: "0.2.0",
      capacity: { cpus: 8, memoryBytes: 16 * 1024 ** 3 },
      allocation: { cpus: 2.5, memoryBytes: 3 * 1024 ** 3 },
    });
    expect(formatTable(NODE_COLUMNS, nodeRows([node], NOW)).split("\n")[1]).toMatch(
      /^gpu-1\s+offline\s+cordoned\s+gpu\s+2\.50\/8\s+3\.0 GiB\/16 GiB\s+2\/5\s+0\.2\.0\s+zone=eu,tier=gpu\s+2 minutes ago$/,
    );
    expect(labelsText({})).toBe("-");
  });

  it("lists join tokens with uses, pool and expiry", () => {
    const t = JoinTokenViewSchema.parse({
      id: "abc",
      createdAt: NOW - 60_000,
      expiresAt: NOW + 3_600_000,
      uses: 1,
      maxUses: 5,
      poolName: null,
      labels: { zone: "eu" },
      status: "active",
    });
    expect(joinTokenRows([t], NOW)).toEqual([
      ["abc", "active", "1/5", "-", "zone=eu", "in about an hour", "About a minute ago"],
    ]);
    expect(parseTtl("1h30m")).toBe(5400);
  });
});
