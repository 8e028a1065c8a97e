/**
 * In-process fan-out of container changes reported by agents, so long polls (`containers.wait`)
 * learn about them without polling the database.
 */
import { EventEmitter } from "node:events";
import type { ContainerRow } from "@berth/db";

export type ContainerChange =
  | { type: "updated"; containerId: string; row: ContainerRow }
  | { type: "removed"; containerId: string };

export class ContainerEventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many concurrent waiters on one container are legitimate.
    this.emitter.setMaxListeners(0);
  }

  publish(change: ContainerChange): void {
    this.emitter.emit(change.containerId, change);
  }

  /** Calls `listener` for every change of one container; returns the unsubscribe function. */
  subscribe(containerId: string, listener: (change: ContainerChange) => void): () => void {
    this.emitter.on(containerId, listener);
    return () => this.emitter.off(containerId, listener);
  }
}
