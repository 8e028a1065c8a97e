/**
 * Named volumes on the nodes, asked live from each agent (volume.*). The server stores nothing
 * about them yet: a volume lives on one node, under the agent's state dir.
 */
import { DomainError, type Volume } from "@berth/core";
import { nodes, type Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { NodesService } from "../nodes/nodes.service";

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
  private readonly nodes: NodesService;

  constructor(
    private readonly db: Db,
    private readonly gateway: AgentGateway,
  ) {
    this.nodes = new NodesService(db);
  }

  private online(): { id: string; name: string }[] {
    return this.db
      .select({ id: nodes.id, name: nodes.name })
      .from(nodes)
      .all()
      .filter((n) => this.gateway.isOnline(n.id));
  }

  /** The node a volume command goes to: the one named, or the only online node. */
  private target(nodeRef: string | undefined): { id: string; name: string } {
    if (nodeRef !== undefined) {
      const node = this.nodes.resolve(nodeRef);
      if (!this.gateway.isOnline(node.id))
        throw new DomainError("unavailable", `node ${node.name} is offline`);
      return node;
    }
    const up = this.online();
    if (up.length === 1) return up[0]!;
    if (up.length === 0) throw new DomainError("unavailable", "no node is online");
    throw new DomainError(
      "invalid_input",
      `${up.length} nodes are online: say which one holds the volume (--node)`,
    );
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
