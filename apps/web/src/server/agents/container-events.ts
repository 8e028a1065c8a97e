/**
 * In-process fan-out of container changes reported by agents, so long polls (`containers.wait`)
 * learn about them without polling the database.
 */
import { EventEmitter } from "node:events";
import type { EventName } from "@berth/core";
import type { ContainerRow } from "@berth/db";

/** `event` names the agent event behind a change (absent for reconcile and command results). */
export type ContainerChange =
  | { type: "updated"; containerId: string; row: ContainerRow; event?: EventName }
  | { type: "removed"; containerId: string; row?: ContainerRow; event?: EventName };

/** The channel every change is also published on, for `subscribeAll`. */
const ALL = Symbol("all containers");

export class ContainerEventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many concurrent waiters on one container are legitimate.
    this.emitter.setMaxListeners(0);
  }

  publish(change: ContainerChange): void {
    this.emitter.emit(change.containerId, change);
    this.emitter.emit(ALL, change);
  }

  /** Calls `listener` for every change of one container; returns the unsubscribe function. */
  subscribe(containerId: string, listener: (change: ContainerChange) => void): () => void {
    this.emitter.on(containerId, listener);
    return () => this.emitter.off(containerId, listener);
  }

  /** Calls `listener` for every change of every container; returns the unsubscribe function. */
  subscribeAll(listener: (change: ContainerChange) => void): () => void {
    this.emitter.on(ALL, listener);
    return () => this.emitter.off(ALL, listener);
  }
}
