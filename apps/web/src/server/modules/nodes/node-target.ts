/**
 * Which node a per-node command (volumes, images) goes to: the one named (it must be online), or
 * the only online node; several online nodes and no name is an error asking for `--node`.
 */
import { DomainError } from "@berth/core";
import { nodes, type Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { NodesService } from "./nodes.service";

export interface NodeRefView {
  id: string;
  name: string;
}

export class NodeTargets {
  private readonly nodes: NodesService;

  constructor(
    private readonly db: Db,
    private readonly gateway: Pick<AgentGateway, "isOnline">,
  ) {
    this.nodes = new NodesService(db);
  }

  online(): NodeRefView[] {
    return this.db
      .select({ id: nodes.id, name: nodes.name })
      .from(nodes)
      .all()
      .filter((n) => this.gateway.isOnline(n.id));
  }

  /** The named node, which must be online. */
  named(nodeRef: string): NodeRefView {
    const node = this.nodes.resolve(nodeRef);
    if (!this.gateway.isOnline(node.id))
      throw new DomainError("unavailable", `node ${node.name} is offline`);
    return node;
  }

  /** The named node, or the only online one; `what` ends the "say which one …" message. */
  target(nodeRef: string | undefined, what: string): NodeRefView {
    if (nodeRef !== undefined) return this.named(nodeRef);
    const up = this.online();
    if (up.length === 1) return up[0]!;
    if (up.length === 0) throw new DomainError("unavailable", "no node is online");
    throw new DomainError(
      "invalid_input",
      `${up.length} nodes are online: say which one ${what} (--node)`,
    );
  }
}
