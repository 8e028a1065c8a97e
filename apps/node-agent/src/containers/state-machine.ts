/**
 * The container lifecycle as an explicit state machine. Every change of state goes through
 * `transition`, which refuses moves the lifecycle does not have with a clear invalid_state error.
 *
 *   created ──start──► running ──stop──► stopping ──► exited ──remove──► removing ──► (gone)
 *      │                  └────────── exit ─────────────┘                   │
 *      └──── fail / remove ────────────────────────────────────────────────┘  removing ─fail─► dead
 */
import { invalidState, type ContainerState } from "@berth/core";

const MOVES: Record<ContainerState, readonly ContainerState[]> = {
  creating: ["created", "removing", "dead"],
  created: ["running", "exited", "removing", "dead"],
  running: ["stopping", "exited", "dead"],
  paused: ["running", "stopping", "exited"],
  stopping: ["exited", "running", "dead"],
  exited: ["removing"],
  removing: ["dead"],
  dead: ["removing"],
};

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
