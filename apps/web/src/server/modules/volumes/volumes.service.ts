/**
 * Named volumes on the nodes, asked live from each agent (volume.*). The server stores nothing
 * about them yet: a volume lives on one node, under the agent's state dir.
 */
import type { Volume } from "@berth/core";
import type { Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { NodeTargets } from "../nodes/node-target";

export interface VolumeView {
  nodeId: string;
  nodeName: string;
  name: string;
  mountpoint: string;
  /** Epoch ms (API.md: numbers only); 0 when the agent reported a date that does not parse. */
  createdAt: number;
}

const TIMEOUT_MS = 15_000;

export class VolumesService {
  private readonly nodes: NodeTargets;

  constructor(
    db: Db,
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

  private view(n: { id: string; name: string }, v: Volume): VolumeView {
    const ms = Date.parse(v.createdAt);
    return {
      nodeId: n.id,
      nodeName: n.name,
      name: v.name,
      mountpoint: v.mountpoint,
      createdAt: Number.isFinite(ms) ? ms : 0,
    };
  }

  /** One node's volumes (it must be online), or those of every online node (offline ones skipped). */
  async list(nodeRef?: string): Promise<VolumeView[]> {
    const targets = nodeRef !== undefined ? [this.target(nodeRef)] : this.online();
    const settled = await Promise.allSettled(
      targets.map(async (n) => {
        const { volumes } = await this.gateway.send(
          n.id,
          "volume.list",
          {},
          { timeoutMs: TIMEOUT_MS },
        );
        return volumes.map((v) => this.view(n, v));
      }),
    );
    const out: VolumeView[] = [];
    for (const r of settled) {
      if (r.status === "fulfilled") out.push(...r.value);
      else if (nodeRef !== undefined) throw r.reason;
    }
    return out;
  }

  async create(name: string, nodeRef?: string): Promise<VolumeView> {
    const n = this.target(nodeRef);
    return this.view(
      n,
      await this.gateway.send(n.id, "volume.create", { name }, { timeoutMs: TIMEOUT_MS }),
    );
  }

  async inspect(name: string, nodeRef?: string): Promise<VolumeView> {
    const n = this.target(nodeRef);
    return this.view(
      n,
      await this.gateway.send(n.id, "volume.inspect", { name }, { timeoutMs: TIMEOUT_MS }),
    );
  }

  async remove(name: string, nodeRef?: string): Promise<{ removed: boolean }> {
    const n = this.target(nodeRef);
    return this.gateway.send(n.id, "volume.remove", { name }, { timeoutMs: TIMEOUT_MS });
  }
}
