/**
 * Which team owns a named volume on a node (the `volumes` table). The volume itself lives on the
 * agent; the row is the server's record of its owner. Used by VolumesService and by container
 * create (`-v NAME:/path`), so another team's volume is never mounted and a volume the agent
 * makes implicitly at create belongs to the caller's team.
 */
import { DomainError, type ContainerSpec } from "@berth/core";
import { and, eq, volumes, type Db, type VolumeRow } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";

const INSPECT_TIMEOUT_MS = 15_000;

/** Who acts: the acting team and whether an administrator (who may use every volume). */
export interface VolumeActor {
  id: string;
  isAdmin: boolean;
  teamId: string;
}

export function volumeNotFound(name: string): DomainError {
  return new DomainError("not_found", `volume ${name} not found`);
}

export function volumeOwner(db: Db, nodeId: string, name: string): VolumeRow | undefined {
  return db
    .select()
    .from(volumes)
    .where(and(eq(volumes.nodeId, nodeId), eq(volumes.name, name)))
    .get();
}

/**
 * Whether the actor may see and use a volume: its own team's; administrators every one, unowned
 * (no row) included.
 */
export function mayUseVolume(actor: VolumeActor, row: VolumeRow | undefined): boolean {
  if (actor.isAdmin) return true;
  return row !== undefined && row.teamId === actor.teamId;
}

/** Records the actor's team as the owner unless the volume already has one. */
export function recordVolume(db: Db, actor: VolumeActor, nodeId: string, name: string): void {
  db.insert(volumes)
    .values({ nodeId, name, teamId: actor.teamId, createdBy: actor.id })
    .onConflictDoNothing()
    .run();
}

function volumeNames(spec: ContainerSpec): string[] {
  const names = new Set<string>();
  for (const m of spec.mounts ?? []) if (m.type === "volume") names.add(m.source);
  return [...names];
}

/**
 * Refuses a container whose named volumes include another team's on the target node, or one
 * that exists there unowned (made before ownership was recorded), as not found: the same answer
 * as for a missing volume, so names do not leak across teams. A name without a row is asked of
 * the node (volume.inspect); only a missing one may be made on first use. Administrators may
 * mount any volume.
 */
export async function assertVolumesUsable(
  db: Db,
  gateway: Pick<AgentGateway, "send">,
  actor: VolumeActor,
  nodeId: string,
  spec: ContainerSpec,
): Promise<void> {
  if (actor.isAdmin) return;
  for (const name of volumeNames(spec)) {
    const row = volumeOwner(db, nodeId, name);
    if (row !== undefined) {
      if (row.teamId !== actor.teamId) throw volumeNotFound(name);
      continue;
    }
    try {
      await gateway.send(nodeId, "volume.inspect", { name }, { timeoutMs: INSPECT_TIMEOUT_MS });
    } catch (e) {
      if (e instanceof DomainError && e.kind === "not_found") continue;
      throw e;
    }
    throw volumeNotFound(name);
  }
}

/** After a successful create: the volumes the agent made on first use belong to the actor's team. */
export function recordContainerVolumes(
  db: Db,
  actor: VolumeActor,
  nodeId: string,
  spec: ContainerSpec,
): void {
  for (const name of volumeNames(spec)) recordVolume(db, actor, nodeId, name);
}
