/**
 * The container lifecycle as an explicit state machine. Every change of state goes through
 * `transition`, which refuses moves the lifecycle does not have with a clear invalid_state error;
 * user verbs go through `assertAction`, which refuses a verb the current state does not allow
 * (e.g. `start` of a paused container, whose move paused → running belongs to `unpause`).
 *
 *   created ──start──► running ──stop──► stopping ──► exited ──remove──► removing ──► (gone)
 *      │               ▲  │  ▲                          │  ▲                │
 *      │         unpause  pause                          └──┼── start ──────┘ (exited → running)
 *      │               │  ▼                                 │
 *      │              paused ──stop / exit──────────────────┘
 *      └──── fail / remove ──────────────────────────────────────────────► removing ─fail─► dead
 */
import { invalidState, type ContainerState } from "@berth/core";

const MOVES: Record<ContainerState, readonly ContainerState[]> = {
  creating: ["created", "removing", "dead"],
  created: ["running", "stopping", "exited", "removing", "dead"],
  running: ["paused", "stopping", "exited", "dead"],
  paused: ["running", "stopping", "exited", "dead"],
  stopping: ["exited", "running", "dead"],
  exited: ["running", "removing"],
  removing: ["dead"],
  dead: ["removing"],
};

/** The user-facing verbs and the states each is allowed in. */
export const ACTIONS = {
  start: ["created", "exited"],
  stop: ["created", "running", "paused", "stopping", "exited"],
  kill: ["running", "paused"],
  restart: ["created", "running", "paused", "exited"],
  pause: ["running"],
  unpause: ["paused"],
  rename: ["created", "running", "paused", "stopping", "exited", "dead"],
  update: ["running"],
} as const satisfies Record<string, readonly ContainerState[]>;
export type Action = keyof typeof ACTIONS;

export function canTransition(from: ContainerState, to: ContainerState): boolean {
  return MOVES[from].includes(to);
}

/** Returns `to`, or throws invalid_state naming the container, the action and the current state. */
export function transition(
  from: ContainerState,
  to: ContainerState,
  what: { id: string; action: string },
): ContainerState {
  if (!canTransition(from, to)) {
    throw invalidState(`cannot ${what.action} container ${what.id.slice(0, 12)}: it is ${from}`, {
      from,
      to,
    });
  }
  return to;
}

export function canDo(action: Action, state: ContainerState): boolean {
  return (ACTIONS[action] as readonly ContainerState[]).includes(state);
}

/** Throws invalid_state ("cannot pause container X: it is exited") unless `action` is allowed. */
export function assertAction(action: Action, state: ContainerState, id: string): void {
  if (!canDo(action, state)) {
    throw invalidState(`cannot ${action} container ${id.slice(0, 12)}: it is ${state}`, {
      action,
      state,
    });
  }
}
