/**
 * Writes what an agent reports about a container into its row. Used by the gateway (events,
 * reconcile at hello) and by the containers service (command results).
 */
import { type ContainerStatus } from "@berth/core";
import { containers, eq, and, type ContainerRow, type Db } from "@berth/db";

function toDate(value: string | null): Date | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

const FINAL_STATES = new Set<ContainerRow["state"]>(["exited", "dead"]);
const LIVE_STATES = new Set<ContainerRow["state"]>(["creating", "created", "running", "paused"]);

/**
 * True when `status` is older than what the row already holds: a result that says "running"
 * arriving after the `container.exited` event must not bring the container back to life. A live
 * status that started after the row's recorded exit is newer (a start or restart), not stale.
 */
export function isStaleStatus(
  row: Pick<ContainerRow, "state"> & { finishedAt?: Date | null },
  status: Pick<ContainerStatus, "state"> & { startedAt?: string | null },
): boolean {
  if (!FINAL_STATES.has(row.state) || !LIVE_STATES.has(status.state)) return false;
  const started = status.startedAt ? Date.parse(status.startedAt) : NaN;
  const finished = row.finishedAt?.getTime() ?? NaN;
  return !(started > finished);
}

/** Applies an agent's view of a container to its row (the agent wins); returns the new row or null. */
export function applyContainerStatus(
  db: Db,
  nodeId: string,
  status: ContainerStatus,
): ContainerRow | null {
  const where = and(eq(containers.id, status.id), eq(containers.nodeId, nodeId));
  const row = db.select().from(containers).where(where).get();
  if (!row) return null;
  if (isStaleStatus(row, status)) return row;
  return (
    db
      .update(containers)
      .set({
        state: status.state,
        pid: status.pid,
        exitCode: status.exitCode,
        oomKilled: status.oomKilled,
        error: status.error,
        startedAt: toDate(status.startedAt) ?? row.startedAt,
        finishedAt: toDate(status.finishedAt) ?? row.finishedAt,
        restartCount: status.restartCount,
        health: status.health,
      })
      .where(where)
      .returning()
      .get() ?? null
  );
}
