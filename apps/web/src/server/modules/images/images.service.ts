/** Images present on the nodes, asked live from each online agent. */
import { DomainError } from "@berth/core";
import { nodes, type Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { NodesService } from "../nodes/nodes.service";

export interface ImageView {
  nodeId: string;
  nodeName: string;
  ref: string;
  digest: string;
  size: number;
  /** Epoch ms (API.md: numbers only); 0 when the agent reported a date that does not parse. */
  createdAt: number;
}

const LIST_TIMEOUT_MS = 15_000;

export class ImagesService {
  private readonly nodes: NodesService;

  constructor(
    private readonly db: Db,
    private readonly gateway: AgentGateway,
  ) {
    this.nodes = new NodesService(db);
  }

  /** One node's images (it must be online), or those of every online node (offline ones skipped). */
  async list(nodeRef?: string): Promise<ImageView[]> {
    let targets: { id: string; name: string }[];
    if (nodeRef !== undefined) {
      const node = this.nodes.resolve(nodeRef);
      if (!this.gateway.isOnline(node.id))
        throw new DomainError("unavailable", `node ${node.name} is offline`);
      targets = [node];
    } else {
      targets = this.db
        .select({ id: nodes.id, name: nodes.name })
        .from(nodes)
        .all()
        .filter((n) => this.gateway.isOnline(n.id));
    }
    const settled = await Promise.allSettled(
      targets.map(async (n) => {
        const { images } = await this.gateway.send(
          n.id,
          "image.list",
          {},
          { timeoutMs: LIST_TIMEOUT_MS },
        );
        return images.map((img) => {
          const ms = Date.parse(img.createdAt);
          return {
            nodeId: n.id,
            nodeName: n.name,
            ref: img.ref,
            digest: img.digest,
            size: img.size,
            createdAt: Number.isFinite(ms) ? ms : 0,
          };
        });
      }),
    );
    const out: ImageView[] = [];
    for (const r of settled) {
      if (r.status === "fulfilled") out.push(...r.value);
      else if (nodeRef !== undefined) throw r.reason;
    }
    return out;
  }
}
