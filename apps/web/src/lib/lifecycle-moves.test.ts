import { ContainerStateSchema } from "@berth/core";
import { describe, expect, it } from "vitest";
import { canDo, type LifecycleVerb } from "./lifecycle-moves";

describe("dashboard lifecycle buttons", () => {
  const enabled = (verb: LifecycleVerb) =>
    ContainerStateSchema.options.filter((s) => canDo(verb, s));

  it("enables each verb exactly in the states the agent's state machine allows", () => {
    expect(enabled("start")).toEqual(["created", "exited"]);
    expect(enabled("restart")).toEqual(["created", "running", "paused", "exited"]);
    expect(enabled("pause")).toEqual(["running"]);
    expect(enabled("unpause")).toEqual(["paused"]);
  });
});
