/**
 * Named volumes on the nodes, asked live from each agent (volume.*). A volume lives on one node,
 * under the agent's state dir; the server's `volumes` table records the team that owns it. A team
 * sees and uses only its own volumes; administrators see all, with the owning team, and the
 * volumes no team owns (made before ownership was recorded). Another team's volume is reported
 * exactly like a missing one, so names do not leak across teams.
 */
import { DomainError, type Volume } from "@berth/core";
import { and, eq, inArray, teams, volumes, type Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { NodeTargets } from "../nodes/node-target";
import { mayUseVolume, recordVolume, volumeOwner, type VolumeActor } from "./volume-owners";

export interface VolumeView {
  nodeId: string;
  nodeName: string;
  name: string;
  mountpoint: string;
  /** Epoch ms (API.md: numbers only); 0 when the agent reported a date that does not parse. */
  createdAt: number;
  /** Owner team; null for a volume no team owns (only administrators see those). */
  teamId: string | null;
  teamName: string | null;
}

const TIMEOUT_MS = 15_000;

type Owner = { teamId: string; teamName: string } | undefined;

/** The agent's own answer for a missing volume; another team's gets the same. */
function notFound(name: string): DomainError {
  return new DomainError("not_found", `volume ${name} not found on this node`);
}

export class VolumesService {
  private readonly nodes: NodeTargets;

  constructor(
    private readonly db: Db,
    private readonly gateway: AgentGateway,
  ) {
    this.nodes = new NodeTargets(db, gateway);
  }

  private online(): { id: string; name: string }[] {
    return this.nodes.online();
  }

  /** The node a volume command goes to: the one named, or the only online node. */
  private target(nodeRef: string | undefined): { id: string; name: string } {
    return this.nodes.target(nodeRef, "holds the volume");
  }

  private view(n: { id: string; name: string }, v: Volume, owner: Owner): VolumeView {
    const ms = Date.parse(v.createdAt);
    return {
      nodeId: n.id,
      nodeName: n.name,
      name: v.name,
      mountpoint: v.mountpoint,
      createdAt: Number.isFinite(ms) ? ms : 0,
      teamId: owner?.teamId ?? null,
      teamName: owner?.teamName ?? null,
    };
  }

  /** Owners of the volumes on some nodes, keyed by `nodeId/name`. */
  private owners(nodeIds: string[]): Map<string, { teamId: string; teamName: string }> {
    const out = new Map<string, { teamId: string; teamName: string }>();
    if (nodeIds.length === 0) return out;
    const rows = this.db
      .select({
        nodeId: volumes.nodeId,
        name: volumes.name,
        teamId: volumes.teamId,
        teamName: teams.name,
      })
      .from(volumes)
      .innerJoin(teams, eq(teams.id, volumes.teamId))
      .where(inArray(volumes.nodeId, nodeIds))
      .all();
    for (const r of rows)
      out.set(`${r.nodeId}/${r.name}`, { teamId: r.teamId, teamName: r.teamName });
    return out;
  }

  private owner(nodeId: string, name: string): Owner {
    return this.owners([nodeId]).get(`${nodeId}/${name}`);
  }

  /** Refuses (as not found) a volume the actor may not see. */
  private assertVisible(actor: VolumeActor, nodeId: string, name: string): void {
    if (!mayUseVolume(actor, volumeOwner(this.db, nodeId, name))) throw notFound(name);
  }

  /**
   * The actor's volumes on one node (it must be online) or on every online node (offline ones
   * skipped); administrators get every volume, owned or not.
   */
  async list(actor: VolumeActor, nodeRef?: string): Promise<VolumeView[]> {
    const targets = nodeRef !== undefined ? [this.target(nodeRef)] : this.online();
    const owners = this.owners(targets.map((n) => n.id));
    const settled = await Promise.allSettled(
      targets.map(async (n) => {
        const { volumes: vols } = await this.gateway.send(
          n.id,
          "volume.list",
          {},
          { timeoutMs: TIMEOUT_MS },
        );
        return vols
          .map((v) => ({ v, owner: owners.get(`${n.id}/${v.name}`) }))
          .filter(({ owner }) => actor.isAdmin || owner?.teamId === actor.teamId)
          .map(({ v, owner }) => this.view(n, v, owner));
      }),
    );
    const out: VolumeView[] = [];
    for (const r of settled) {
      if (r.status === "fulfilled") out.push(...r.value);
      else if (nodeRef !== undefined) throw r.reason;
    }
    return out;
  }

  /**
   * Creates a volume owned by the actor's team. A name another team holds on the node is refused,
   * and so, for non-admins, is one that exists there unowned (the node is asked), so nobody takes
   * over a volume made before ownership was recorded.
   */
  async create(actor: VolumeActor, name: string, nodeRef?: string): Promise<VolumeView> {
    const n = this.target(nodeRef);
    const exists = () => new DomainError("conflict", `volume ${name} already exists`);
    const taken = () => {
      const row = volumeOwner(this.db, n.id, name);
      if (row !== undefined && row.teamId !== actor.teamId) throw exists();
      return row !== undefined;
    };
    if (!taken() && !actor.isAdmin) {
      let found = true;
      try {
        await this.gateway.send(n.id, "volume.inspect", { name }, { timeoutMs: TIMEOUT_MS });
      } catch (e) {
        if (!(e instanceof DomainError && e.kind === "not_found")) throw e;
        found = false;
      }
      if (found) throw exists();
    }
    const v = await this.gateway.send(n.id, "volume.create", { name }, { timeoutMs: TIMEOUT_MS });
    recordVolume(this.db, actor, n.id, name);
    taken(); // another team recorded it meanwhile
    return this.view(n, v, this.owner(n.id, name));
  }

  async inspect(actor: VolumeActor, name: string, nodeRef?: string): Promise<VolumeView> {
    const n = this.target(nodeRef);
    this.assertVisible(actor, n.id, name);
    const v = await this.gateway.send(n.id, "volume.inspect", { name }, { timeoutMs: TIMEOUT_MS });
    return this.view(n, v, this.owner(n.id, name));
  }

  /** Removes the volume on its node and its ownership record. */
  async remove(actor: VolumeActor, name: string, nodeRef?: string): Promise<{ removed: boolean }> {
    const n = this.target(nodeRef);
    this.assertVisible(actor, n.id, name);
    const r = await this.gateway.send(n.id, "volume.remove", { name }, { timeoutMs: TIMEOUT_MS });
    this.db
      .delete(volumes)
      .where(and(eq(volumes.nodeId, n.id), eq(volumes.name, name)))
      .run();
    return r;
  }
}
