/**
 * Networks on the nodes, asked live from each agent (network.*), like volumes: the server stores
 * nothing about them. Ownership is the agent's record of the team that created a network (the
 * server sends it): a team sees and uses only its own networks and the default `bridge`;
 * administrators see all. Another team's network is reported as not found, not as forbidden,
 * so names do not leak across teams.
 */
import {
  DEFAULT_NETWORK,
  DomainError,
  type ContainerNetwork,
  type ContainerSpec,
  type Network,
  type NetworkCreateOptions,
} from "@berth/core";
import type { Db } from "@berth/db";
import { applyContainerStatus } from "../../agents/container-state";
import type { AgentGateway } from "../../agents/gateway";
import type { Actor, ContainersService, ContainerView } from "../containers/containers.service";
import { NodeTargets } from "../nodes/node-target";

export interface NetworkView {
  nodeId: string;
  nodeName: string;
  id: string;
  name: string;
  /** Owner team id; null for the default network. */
  teamId: string | null;
  subnet: string;
  gateway: string;
  bridge: string;
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  isDefault: boolean;
  /** Epoch ms; 0 when the agent's date does not parse. */
  createdAt: number;
  containers: { containerId: string; ip: string; mac: string }[];
}

const TIMEOUT_MS = 15_000;

/** Whether an actor may see and use a network. */
export function mayUse(actor: Pick<Actor, "isAdmin" | "teamId">, n: Network): boolean {
  return actor.isAdmin || n.isDefault || n.teamId === actor.teamId;
}

export class NetworksService {
  private readonly nodes: NodeTargets;

  constructor(
    private readonly db: Db,
    private readonly gateway: AgentGateway,
    private readonly containers: Pick<ContainersService, "resolve" | "get" | "list">,
  ) {
    this.nodes = new NodeTargets(db, gateway);
  }

  private view(n: { id: string; name: string }, net: Network): NetworkView {
    const ms = Date.parse(net.createdAt);
    return {
      nodeId: n.id,
      nodeName: n.name,
      id: net.id,
      name: net.name,
      teamId: net.teamId,
      subnet: net.subnet,
      gateway: net.gateway,
      bridge: net.bridge,
      icc: net.icc,
      masquerade: net.masquerade,
      internal: net.internal,
      isDefault: net.isDefault,
      createdAt: Number.isFinite(ms) ? ms : 0,
      containers: net.containers,
    };
  }

  /** A network the actor may use on a node (not_found otherwise). */
  private async visible(actor: Actor, nodeId: string, ref: string): Promise<Network> {
    const net = await this.gateway.send(
      nodeId,
      "network.inspect",
      { network: ref },
      { timeoutMs: TIMEOUT_MS },
    );
    if (!mayUse(actor, net)) throw new DomainError("not_found", `network ${ref} not found`);
    return net;
  }

  /** One node's networks (online), or those of every online node; filtered by team. */
  async list(actor: Actor, nodeRef?: string): Promise<NetworkView[]> {
    const targets = nodeRef !== undefined ? [this.nodes.named(nodeRef)] : this.nodes.online();
    const settled = await Promise.allSettled(
      targets.map(async (n) => {
        const { networks } = await this.gateway.send(
          n.id,
          "network.list",
          {},
          { timeoutMs: TIMEOUT_MS },
        );
        return networks.filter((x) => mayUse(actor, x)).map((x) => this.view(n, x));
      }),
    );
    const out: NetworkView[] = [];
    for (const r of settled) {
      if (r.status === "fulfilled") out.push(...r.value);
      else if (nodeRef !== undefined) throw r.reason;
    }
    return out;
  }

  async inspect(actor: Actor, ref: string, nodeRef?: string): Promise<NetworkView> {
    const n = this.nodes.target(nodeRef, "holds the network");
    return this.view(n, await this.visible(actor, n.id, ref));
  }

  /** Creates a network owned by the actor's team. */
  async create(actor: Actor, opts: NetworkCreateOptions, nodeRef?: string): Promise<NetworkView> {
    const n = this.nodes.target(nodeRef, "gets the network");
    const net = await this.gateway.send(
      n.id,
      "network.create",
      { ...opts, teamId: actor.teamId },
      { timeoutMs: TIMEOUT_MS },
    );
    return this.view(n, net);
  }

  async remove(actor: Actor, ref: string, nodeRef?: string): Promise<{ removed: boolean }> {
    const n = this.nodes.target(nodeRef, "holds the network");
    const net = await this.visible(actor, n.id, ref);
    if (net.isDefault)
      throw new DomainError("invalid_input", `network ${net.name} is the default network`);
    return this.gateway.send(
      n.id,
      "network.remove",
      { network: net.id },
      { timeoutMs: TIMEOUT_MS },
    );
  }

  /** Connects one of the team's containers to one of its networks (on the container's node). */
  async connect(
    actor: Actor,
    ref: string,
    containerRef: string,
    opts: { aliases?: string[]; ip?: string } = {},
  ): Promise<ContainerView> {
    const row = this.containers.resolve(actor, containerRef);
    const net = await this.visible(actor, row.nodeId, ref);
    const status = await this.gateway.send(
      row.nodeId,
      "network.connect",
      {
        network: net.id,
        containerId: row.id,
        aliases: opts.aliases ?? [],
        ...(opts.ip !== undefined ? { ip: opts.ip } : {}),
      },
      { timeoutMs: TIMEOUT_MS },
    );
    applyContainerStatus(this.db, row.nodeId, status);
    return this.containers.get(actor, row.id);
  }

  async disconnect(actor: Actor, ref: string, containerRef: string): Promise<ContainerView> {
    const row = this.containers.resolve(actor, containerRef);
    const net = await this.visible(actor, row.nodeId, ref);
    const status = await this.gateway.send(
      row.nodeId,
      "network.disconnect",
      { network: net.id, containerId: row.id },
      { timeoutMs: TIMEOUT_MS },
    );
    applyContainerStatus(this.db, row.nodeId, status);
    return this.containers.get(actor, row.id);
  }

  /**
   * Live network facts (addresses, published ports) of one of the actor's containers, or of all
   * of them on the online nodes (ps' PORTS column); offline nodes are skipped.
   */
  async containerNetworks(
    actor: Actor,
    ref?: string,
  ): Promise<{ containerId: string; network: ContainerNetwork }[]> {
    if (ref !== undefined) {
      const row = this.containers.resolve(actor, ref);
      if (!this.gateway.isOnline(row.nodeId)) return [];
      const r = await this.gateway.send(
        row.nodeId,
        "network.endpoints",
        { containerId: row.id },
        { timeoutMs: TIMEOUT_MS },
      );
      return r.containers;
    }
    const mine = this.containers.list(actor, { all: true });
    const ids = new Set(mine.map((c) => c.id));
    const nodeIds = [...new Set(mine.map((c) => c.nodeId))].filter((n) => this.gateway.isOnline(n));
    const settled = await Promise.allSettled(
      nodeIds.map((n) => this.gateway.send(n, "network.endpoints", {}, { timeoutMs: TIMEOUT_MS })),
    );
    return settled.flatMap((r) =>
      r.status === "fulfilled" ? r.value.containers.filter((c) => ids.has(c.containerId)) : [],
    );
  }

  /**
   * Checks a run's `--network` on its node before the agent sees it: a user-defined network
   * must be the team's (or the default), `container:<ref>` must name one of the team's
   * containers on the same node (rewritten to its id). Returns the spec to send.
   */
  async checkRun(actor: Actor, nodeId: string, spec: ContainerSpec): Promise<ContainerSpec> {
    const mode = spec.network;
    if (mode === undefined || mode === DEFAULT_NETWORK || mode === "none" || mode === "host")
      return spec;
    if (mode.startsWith("container:")) {
      const row = this.containers.resolve(actor, mode.slice("container:".length));
      if (row.nodeId !== nodeId)
        throw new DomainError(
          "invalid_input",
          `--network ${mode}: that container runs on another node`,
        );
      return { ...spec, network: `container:${row.id}` };
    }
    const net = await this.visible(actor, nodeId, mode);
    return { ...spec, network: net.name };
  }
}
