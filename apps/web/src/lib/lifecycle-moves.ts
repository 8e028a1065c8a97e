/**
 * Which lifecycle buttons a container's state allows. Mirrors the agent's state machine
 * (apps/node-agent/src/containers/state-machine.ts, ACTIONS), which stays the authority: a
 * button enabled on a stale row is still refused by the agent with a clear message.
 */
import type { ContainerState } from "@berth/core";

export type LifecycleVerb = "start" | "restart" | "pause" | "unpause";

const ALLOWED: Record<LifecycleVerb, readonly ContainerState[]> = {
  start: ["created", "exited"],
  restart: ["created", "running", "paused", "exited"],
  pause: ["running"],
  unpause: ["paused"],
};

export function canDo(verb: LifecycleVerb, state: ContainerState): boolean {
  return ALLOWED[verb].includes(state);
}
