/**
 * `containers.statsHistory` and `nodes.statsHistory`: the last hour of stats the agent keeps in
 * memory (agent containers/stats-history.ts), asked with one `stats.history` command. The
 * dashboard polls with `afterMs` (the newest point it has) and gets only what is new.
 */
import type { StatsHistory } from "@berth/core";
import type { ContainerRow, NodeRow } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import type { Actor } from "./containers.service";

export interface StatsHistoryDeps {
  gateway: Pick<AgentGateway, "send">;
  /** The containers service's resolve: the actor's container by ref (throws not_found). */
  resolveContainer(actor: Actor, ref: string): ContainerRow;
  /** A node by id or name (throws not_found). */
  resolveNode(ref: string): NodeRow;
}

const TIMEOUT_MS = 10_000;

export class StatsHistoryService {
  constructor(private readonly deps: StatsHistoryDeps) {}

  /** The container's points; none when its node is offline or it never ran on this agent run. */
  async container(actor: Actor, ref: string, afterMs?: number): Promise<StatsHistory> {
    const row = this.deps.resolveContainer(actor, ref);
    return this.ask(row.nodeId, {
      containerId: row.id,
      ...(afterMs === undefined ? {} : { afterMs }),
    });
  }

  async node(ref: string, afterMs?: number): Promise<StatsHistory> {
    const row = this.deps.resolveNode(ref);
    return this.ask(row.id, afterMs === undefined ? {} : { afterMs });
  }

  private ask(nodeId: string, params: { containerId?: string; afterMs?: number }) {
    return this.deps.gateway.send(nodeId, "stats.history", params, { timeoutMs: TIMEOUT_MS });
  }
}
