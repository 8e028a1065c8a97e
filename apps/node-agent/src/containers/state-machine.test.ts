import { describe, expect, it } from "vitest";
import { canTransition, transition } from "./state-machine";

const id = "f".repeat(64);

describe("container state machine", () => {
  it("allows the lifecycle's moves", () => {
    expect(transition("created", "running", { id, action: "start" })).toBe("running");
    expect(transition("running", "stopping", { id, action: "stop" })).toBe("stopping");
    expect(transition("stopping", "exited", { id, action: "record the exit of" })).toBe("exited");
    expect(transition("running", "exited", { id, action: "record the exit of" })).toBe("exited");
    expect(transition("exited", "removing", { id, action: "remove" })).toBe("removing");
  });

  it("refuses invalid moves with a clear invalid_state error", () => {
    expect(() => transition("exited", "running", { id, action: "start" })).toThrow(
      expect.objectContaining({
        kind: "invalid_state",
        message: "cannot start container ffffffffffff: it is exited",
      }),
    );
    expect(() => transition("running", "removing", { id, action: "remove" })).toThrow(
      /it is running/,
    );
    expect(canTransition("removing", "running")).toBe(false);
    expect(canTransition("exited", "stopping")).toBe(false);
  });
});
