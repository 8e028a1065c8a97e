/**
 * In-process fan-out of container changes reported by agents, so long polls (`containers.wait`)
 * learn about them without polling the database, and the docker-like event log behind
 * `containers.events`: every change an agent event caused becomes one or more docker actions
 * (create, start, die, oom, pause, unpause, destroy, health_status: …), stored in the
 * `container_events` table (when the bus has a database) and then published with their row ids,
 * so a subscriber can replay the table and switch to live events without a gap or a duplicate.
 */
import { EventEmitter } from "node:events";
import type { EventName } from "@berth/core";
import {
  containerEvents,
  eq,
  lt,
  nodes,
  sql,
  type ContainerEventRow,
  type ContainerRow,
  type Db,
} from "@berth/db";

/** `event` names the agent event behind a change (absent for reconcile and command results). */
export type ContainerChange =
  | { type: "updated"; containerId: string; row: ContainerRow; event?: EventName }
  | { type: "removed"; containerId: string; row?: ContainerRow; event?: EventName };

/** The docker action(s) for one change; changes that no agent event caused yield none. */
export function dockerActions(change: ContainerChange): string[] {
  if (change.type === "removed") return change.row ? ["destroy"] : [];
  switch (change.event) {
    case "container.created":
      return ["create"];
    case "container.started":
      return ["start"];
    case "container.exited":
      return change.row.oomKilled ? ["oom", "die"] : ["die"];
    case "container.paused":
      return ["pause"];
    case "container.unpaused":
      return ["unpause"];
    case "container.health_status":
      return change.row.health ? [`health_status: ${change.row.health.status}`] : [];
    default:
      return [];
  }
}

/** How much event history the server keeps. */
export interface EventRetention {
  /** Rows older than this are pruned (default 7 days). */
  maxAgeMs: number;
  /** At most this many rows are kept, the newest (default 100,000). */
  maxRows: number;
  /** Pruning runs at most this often, on an insert (default 60 s)... */
  pruneEveryMs: number;
  /** ...or after this many inserts, whichever comes first (default 1,000). */
  pruneEveryInserts: number;
}

export const DEFAULT_EVENT_RETENTION: EventRetention = {
  maxAgeMs: 7 * 24 * 3_600_000,
  maxRows: 100_000,
  pruneEveryMs: 60_000,
  pruneEveryInserts: 1_000,
};

export interface ContainerEventBusOptions {
  /** Where events are stored; without it they are only published (ids count from 1). */
  db?: Db;
  retention?: Partial<EventRetention>;
  /** The clock (tests). */
  now?: () => number;
}

/** The channel every change is also published on, for `subscribeAll`. */
const ALL = Symbol("all containers");
/** The channel of recorded docker events, for `subscribeEvents`. */
const EVENTS = Symbol("docker events");

export class ContainerEventBus {
  private readonly emitter = new EventEmitter();
  private readonly db: Db | undefined;
  private readonly retention: EventRetention;
  private readonly now: () => number;
  private memoryId = 0;
  private lastPruneAt = 0;
  private insertsSincePrune = 0;

  constructor(opts: ContainerEventBusOptions = {}) {
    // Many concurrent waiters on one container are legitimate.
    this.emitter.setMaxListeners(0);
    this.db = opts.db;
    this.retention = { ...DEFAULT_EVENT_RETENTION, ...opts.retention };
    this.now = opts.now ?? Date.now;
    if (this.db) this.prune();
  }

  publish(change: ContainerChange): void {
    let recorded: ContainerEventRow[] = [];
    try {
      recorded = this.record(change);
    } catch (e) {
      // The change itself must still reach waiters; only its history entry is lost.
      console.warn(`container events: storing an event failed: ${(e as Error).message}`);
    }
    this.emitter.emit(change.containerId, change);
    this.emitter.emit(ALL, change);
    for (const e of recorded) this.emitter.emit(EVENTS, e);
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

  /**
   * Calls `listener` for every docker event, after it is stored (ids increase in publish
   * order); returns the unsubscribe function.
   */
  subscribeEvents(listener: (event: ContainerEventRow) => void): () => void {
    this.emitter.on(EVENTS, listener);
    return () => this.emitter.off(EVENTS, listener);
  }

  /** Deletes events past the retention: older than maxAgeMs, and all but the newest maxRows. */
  prune(): void {
    const db = this.db;
    if (!db) return;
    const now = this.now();
    this.lastPruneAt = now;
    this.insertsSincePrune = 0;
    db.delete(containerEvents)
      .where(lt(containerEvents.at, new Date(now - this.retention.maxAgeMs)))
      .run();
    // ids only grow and rows only leave from the oldest end, so "id <= max - maxRows" keeps at
    // most maxRows rows with one index lookup (gaps from failed inserts keep a few less).
    db.delete(containerEvents)
      .where(
        sql`${containerEvents.id} <= (SELECT max(id) FROM container_events) - ${this.retention.maxRows}`,
      )
      .run();
  }

  private record(change: ContainerChange): ContainerEventRow[] {
    const row = change.row;
    if (!row) return [];
    const actions = dockerActions(change);
    if (actions.length === 0) return [];
    const at = new Date(this.now());
    const values = actions.map((action) => ({
      at,
      teamId: row.teamId,
      containerId: row.id,
      containerName: row.name,
      image: row.image,
      nodeId: row.nodeId,
      nodeName: this.nodeName(row.nodeId),
      action,
      exitCode: action === "die" ? row.exitCode : null,
    }));
    const db = this.db;
    if (!db) return values.map((v) => ({ ...v, id: ++this.memoryId }));
    const stored = db.insert(containerEvents).values(values).returning().all();
    this.insertsSincePrune += stored.length;
    if (
      this.insertsSincePrune >= this.retention.pruneEveryInserts ||
      at.getTime() - this.lastPruneAt >= this.retention.pruneEveryMs
    )
      this.prune();
    return stored;
  }

  private nodeName(nodeId: string): string {
    if (!this.db) return nodeId;
    return (
      this.db.select({ name: nodes.name }).from(nodes).where(eq(nodes.id, nodeId)).get()?.name ??
      nodeId
    );
  }
}
