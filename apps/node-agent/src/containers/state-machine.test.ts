import { ContainerStateSchema, type ContainerState } from "@berth/core";
import { describe, expect, it } from "vitest";
import {
  ACTIONS,
  assertAction,
  canDo,
  canTransition,
  transition,
  type Action,
} from "./state-machine";

const id = "f".repeat(64);
const STATES = ContainerStateSchema.options;

/** The lifecycle written out move by move, independently of the table in state-machine.ts. */
const VALID_MOVES = new Set<string>([
  "creating>created",
  "creating>removing",
  "creating>dead",
  "created>running",
  "created>stopping",
  "created>exited",
  "created>removing",
  "created>dead",
  "running>paused",
  "running>stopping",
  "running>exited",
  "running>dead",
  "paused>running",
  "paused>stopping",
  "paused>exited",
  "paused>dead",
  "stopping>exited",
  "stopping>running",
  "stopping>dead",
  "exited>running",
  "exited>removing",
  "removing>dead",
  "dead>removing",
]);

const VALID_ACTIONS: Record<Action, ContainerState[]> = {
  start: ["created", "exited"],
  stop: ["created", "running", "paused", "stopping", "exited"],
  kill: ["running", "paused"],
  restart: ["created", "running", "paused", "exited"],
  pause: ["running"],
  unpause: ["paused"],
  rename: ["created", "running", "paused", "stopping", "exited", "dead"],
  update: ["running"],
};

describe("container state machine: moves", () => {
  for (const from of STATES) {
    for (const to of STATES) {
      const valid = VALID_MOVES.has(`${from}>${to}`);
      it(`${valid ? "allows" : "refuses"} ${from} → ${to}`, () => {
        expect(canTransition(from, to)).toBe(valid);
        if (valid) expect(transition(from, to, { id, action: "move" })).toBe(to);
        else
          expect(() => transition(from, to, { id, action: "move" })).toThrow(
            expect.objectContaining({
              kind: "invalid_state",
              message: `cannot move container ffffffffffff: it is ${from}`,
            }),
          );
      });
    }
  }
});

describe("container state machine: verbs", () => {
  it("knows exactly the verbs of the lifecycle", () => {
    expect(Object.keys(ACTIONS).sort()).toEqual(Object.keys(VALID_ACTIONS).sort());
  });

  for (const action of Object.keys(VALID_ACTIONS) as Action[]) {
    for (const state of STATES) {
      const valid = VALID_ACTIONS[action].includes(state);
      it(`${valid ? "allows" : "refuses"} ${action} when ${state}`, () => {
        expect(canDo(action, state)).toBe(valid);
        if (valid) expect(() => assertAction(action, state, id)).not.toThrow();
        else
          expect(() => assertAction(action, state, id)).toThrow(
            expect.objectContaining({
              kind: "invalid_state",
              message: `cannot ${action} container ffffffffffff: it is ${state}`,
            }),
          );
      });
    }
  }

  it("sends start of a paused container to unpause, not through the paused → running move", () => {
    expect(canTransition("paused", "running")).toBe(true);
    expect(() => assertAction("start", "paused", id)).toThrow(
      "cannot start container ffffffffffff: it is paused",
    );
  });
});
