import { describe, expect, it } from "vitest";
import {
  FleetJoinTokenInputSchema,
  LabelsSchema,
  NodeSetLabelsInputSchema,
  PoolNameSchema,
  parseLabelArgs,
} from "./fleet";

describe("fleet inputs", () => {
  it("accepts Kubernetes-like label keys and one-line values", () => {
    expect(LabelsSchema.parse({ zone: "eu-1", "berth.io/gpu": "a10", "x_y.z": "" })).toEqual({
      zone: "eu-1",
      "berth.io/gpu": "a10",
      "x_y.z": "",
    });
    for (const bad of [{ "-lead": "x" }, { "a b": "x" }, { "UPPER/x": "x" }, { k: "two\nlines" }])
      expect(LabelsSchema.safeParse(bad).success).toBe(false);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    expect(LabelsSchema.safeParse(many).success).toBe(false);
  });

  it("parses label arguments: key=value sets (the first = splits), key- removes", () => {
    expect(parseLabelArgs(["a=b=c", "gone-"])).toEqual({ set: { a: "b=c" }, remove: ["gone"] });
    expect(() => parseLabelArgs(["=x"])).toThrow(/use key=value or key-/);
  });

  it("join tokens default to one use, an hour, no pool and no labels; a week at most", () => {
    expect(FleetJoinTokenInputSchema.parse({})).toEqual({
      ttlSeconds: 3600,
      maxUses: 1,
      labels: {},
    });
    expect(FleetJoinTokenInputSchema.safeParse({ ttlSeconds: 8 * 86400 }).success).toBe(false);
    expect(FleetJoinTokenInputSchema.safeParse({ maxUses: 0 }).success).toBe(false);
  });

  it("pool names are lowercase slugs; setLabels defaults to no change", () => {
    expect(PoolNameSchema.safeParse("gpu-eu_1").success).toBe(true);
    expect(PoolNameSchema.safeParse("GPU").success).toBe(false);
    expect(NodeSetLabelsInputSchema.parse({ ref: "n1" })).toEqual({
      ref: "n1",
      set: {},
      remove: [],
    });
  });
});
