/**
 * Nodes as the API shows them (the row, whether its agent is connected, container counts,
 * capacity and what running containers reserve of it) and the fleet operations on them: labels,
 * pool, cordon, drain, remove, credential rotation, and the scheduling check
 * (`assertTeamMayUse`: not cordoned, and in no pool or a pool granted to the team).
 */
import {
  DomainError,
  newSecret,
  type ContainerLimits,
  type ContainerSpec,
  type ContainerState,
  type Labels,
  type NodeFacts,
} from "@berth/core";
import {
  and,
  asc,
  containers,
  eq,
  inArray,
  isNull,
  nodes,
  or,
  poolGrants,
  pools,
  sql,
  type Db,
  type NodeRow,
} from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { applyContainerStatus } from "../../agents/container-state";
import { promoteCredential } from "../../agents/node-auth";
import { sha256Hex } from "../../security";

export interface NodeView {
  id: string;
  name: string;
  status: "online" | "offline";
  facts: NodeFacts | null;
  lastSeenAt: number | null;
  createdAt: number;
  containers: { running: number; total: number };
  labels: Labels;
  poolId: string | null;
  poolName: string | null;
  /** No new containers are scheduled on it. */
  cordoned: boolean;
  agentVersion: string | null;
  /** What the host has (from its facts; null before its first hello). */
  capacity: { cpus: number | null; memoryBytes: number | null };
  /** What its running containers' limits reserve (containers without a limit count 0). */
  allocation: { cpus: number; memoryBytes: number; unlimited: number };
}

export interface NodeContainerView {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  teamId: string;
  createdAt: number;
  limits: ContainerLimits;
}

export interface NodeDetail extends NodeView {
  containerList: NodeContainerView[];
}

export interface DrainReport {
  node: string;
  cordoned: true;
  stopped: { id: string; name: string }[];
  failed: { id: string; name: string; error: string }[];
}

/** What the fleet operations need of the gateway. */
export type NodeGateway = Pick<AgentGateway, "isOnline" | "send" | "events" | "disconnect">;

/** States whose containers hold their node's resources and are stopped by a drain. */
const LIVE: ContainerState[] = ["running", "paused", "stopping", "creating"];

/** Running and total containers per node. */
export function containerCountsByNode(db: Db): Map<string, { running: number; total: number }> {
  const rows = db
    .select({
      nodeId: containers.nodeId,
      total: sql<number>`count(*)`,
      running: sql<number>`coalesce(sum(case when ${containers.state} = 'running' then 1 else 0 end), 0)`,
    })
    .from(containers)
    .groupBy(containers.nodeId)
    .all();
  return new Map(
    rows.map((r) => [r.nodeId, { running: Number(r.running), total: Number(r.total) }]),
  );
}

type Allocation = NodeView["allocation"];

/** Sum of the running (and paused) containers' CPU and memory limits per node. */
export function allocationByNode(db: Db, nodeIds?: string[]): Map<string, Allocation> {
  const cond = inArray(containers.state, ["running", "paused"]);
  const rows = db
    .select({ nodeId: containers.nodeId, spec: containers.spec })
    .from(containers)
    .where(nodeIds ? and(cond, inArray(containers.nodeId, nodeIds)) : cond)
    .all();
  const out = new Map<string, Allocation>();
  for (const r of rows) {
    const a = out.get(r.nodeId) ?? { cpus: 0, memoryBytes: 0, unlimited: 0 };
    const limits = (r.spec as ContainerSpec | null)?.limits;
    if (limits?.nanoCpus) a.cpus += limits.nanoCpus / 1e9;
    if (limits?.memoryBytes) a.memoryBytes += limits.memoryBytes;
    if (!limits?.nanoCpus && !limits?.memoryBytes) a.unlimited++;
    out.set(r.nodeId, a);
  }
  return out;
}

export class NodesService {
  /** Nodes whose credential rotation is waiting for the agent's answer (in this process). */
  private readonly rotating = new Set<string>();

  constructor(
    private readonly db: Db,
    /** Needed by drain, remove and rotateCredential only. */
    private readonly gateway?: NodeGateway,
  ) {}

  private poolNames(): Map<string, string> {
    return new Map(
      this.db
        .select({ id: pools.id, name: pools.name })
        .from(pools)
        .all()
        .map((p) => [p.id, p.name]),
    );
  }

  private view(
    row: NodeRow,
    counts: Map<string, { running: number; total: number }>,
    alloc: Map<string, Allocation>,
    poolNames: Map<string, string>,
  ): NodeView {
    const facts = (row.facts as NodeFacts | null) ?? null;
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      facts,
      lastSeenAt: row.lastSeenAt?.getTime() ?? null,
      createdAt: row.createdAt.getTime(),
      containers: counts.get(row.id) ?? { running: 0, total: 0 },
      labels: row.labels ?? {},
      poolId: row.poolId,
      poolName: row.poolId ? (poolNames.get(row.poolId) ?? null) : null,
      cordoned: row.cordoned,
      agentVersion: row.agentVersion ?? facts?.agentVersion ?? null,
      capacity: { cpus: facts?.cpus ?? null, memoryBytes: facts?.memoryBytes ?? null },
      allocation: alloc.get(row.id) ?? { cpus: 0, memoryBytes: 0, unlimited: 0 },
    };
  }

  list(): NodeView[] {
    const counts = containerCountsByNode(this.db);
    const alloc = allocationByNode(this.db);
    const names = this.poolNames();
    return this.db
      .select()
      .from(nodes)
      .orderBy(asc(nodes.name))
      .all()
      .map((r) => this.view(r, counts, alloc, names));
  }

  /** A node by id or name. */
  resolve(ref: string): NodeRow {
    const row = this.db
      .select()
      .from(nodes)
      .where(or(eq(nodes.id, ref), eq(nodes.name, ref)))
      .get();
    if (!row) throw new DomainError("not_found", `no node "${ref}"`);
    return row;
  }

  /**
   * The node with its facts, capacity, allocation and containers; with `viewer`, only the
   * containers of their team are listed (administrators see all; allocation stays the node's).
   */
  get(ref: string, viewer?: { isAdmin: boolean; teamId: string }): NodeDetail {
    const row = this.resolve(ref);
    const onNode = eq(containers.nodeId, row.id);
    const list = this.db
      .select()
      .from(containers)
      .where(viewer && !viewer.isAdmin ? and(onNode, eq(containers.teamId, viewer.teamId)) : onNode)
      .orderBy(asc(containers.name))
      .all();
    return {
      ...this.view(
        row,
        containerCountsByNode(this.db),
        allocationByNode(this.db, [row.id]),
        this.poolNames(),
      ),
      containerList: list.map((c) => ({
        id: c.id,
        name: c.name,
        image: c.image,
        state: c.state,
        teamId: c.teamId,
        createdAt: c.createdAt.getTime(),
        limits: (c.spec as ContainerSpec).limits ?? {},
      })),
    };
  }

  /** Adds or changes `set`, removes `remove` keys; returns the node's labels. */
  setLabels(ref: string, set: Labels, remove: readonly string[]): Labels {
    const row = this.resolve(ref);
    const labels: Labels = { ...(row.labels ?? {}) };
    for (const k of remove) delete labels[k];
    Object.assign(labels, set);
    if (Object.keys(labels).length > 64)
      throw new DomainError("invalid_input", "a node has at most 64 labels");
    this.db.update(nodes).set({ labels }).where(eq(nodes.id, row.id)).run();
    return labels;
  }

  /** Moves the node to a pool (by id or name), or out of any pool with null. */
  setPool(ref: string, poolRef: string | null): NodeView {
    const row = this.resolve(ref);
    let poolId: string | null = null;
    if (poolRef !== null) {
      const pool = this.db
        .select({ id: pools.id })
        .from(pools)
        .where(or(eq(pools.id, poolRef), eq(pools.name, poolRef)))
        .get();
      if (!pool) throw new DomainError("not_found", `no pool "${poolRef}"`);
      poolId = pool.id;
    }
    this.db.update(nodes).set({ poolId }).where(eq(nodes.id, row.id)).run();
    return this.view(
      { ...row, poolId },
      containerCountsByNode(this.db),
      allocationByNode(this.db, [row.id]),
      this.poolNames(),
    );
  }

  /** Cordons (true) or uncordons (false): a cordoned node gets no new containers. */
  setCordoned(ref: string, cordoned: boolean): { name: string; cordoned: boolean } {
    const row = this.resolve(ref);
    this.db.update(nodes).set({ cordoned }).where(eq(nodes.id, row.id)).run();
    return { name: row.name, cordoned };
  }

  private fleet(): NodeGateway {
    if (!this.gateway) throw new Error("NodesService was built without a gateway");
    return this.gateway;
  }

  /**
   * Cordons the node and stops every container still alive on it (in parallel, each with
   * `timeoutSeconds` before it is killed). Reports what was stopped and what could not be.
   */
  async drain(ref: string, timeoutSeconds: number): Promise<DrainReport> {
    const gw = this.fleet();
    const row = this.resolve(ref);
    this.setCordoned(row.id, true);
    const live = this.db
      .select({ id: containers.id, name: containers.name })
      .from(containers)
      .where(and(eq(containers.nodeId, row.id), inArray(containers.state, LIVE)))
      .orderBy(asc(containers.name))
      .all();
    const report: DrainReport = { node: row.name, cordoned: true, stopped: [], failed: [] };
    if (live.length > 0 && !gw.isOnline(row.id)) {
      for (const c of live)
        report.failed.push({
          ...c,
          error: `node ${row.name} is offline: nothing could be stopped`,
        });
      return report;
    }
    const outcomes = await Promise.allSettled(
      live.map(async (c) => {
        const status = await gw.send(
          row.id,
          "container.stop",
          { containerId: c.id, timeoutSeconds },
          { timeoutMs: (timeoutSeconds + 30) * 1000 },
        );
        const updated = applyContainerStatus(this.db, row.id, status);
        if (updated) gw.events.publish({ type: "updated", containerId: c.id, row: updated });
      }),
    );
    outcomes.forEach((o, i) => {
      const c = live[i]!;
      if (o.status === "fulfilled") report.stopped.push(c);
      else report.failed.push({ ...c, error: (o.reason as Error).message });
    });
    return report;
  }

  /**
   * Forgets the node and its containers' rows. Refused while its agent is connected unless
   * `force` (then the agent is disconnected and its credential refused from now on; the
   * containers it runs keep running on the host).
   */
  remove(ref: string, force: boolean): { name: string; forgottenContainers: number } {
    const gw = this.fleet();
    const row = this.resolve(ref);
    if (gw.isOnline(row.id) && !force)
      throw new DomainError(
        "conflict",
        `node ${row.name} is online: drain it and stop its agent first, or remove it with --force`,
      );
    const gone = this.db.transaction((tx) => {
      const rows = tx
        .delete(containers)
        .where(eq(containers.nodeId, row.id))
        .returning({ id: containers.id })
        .all();
      tx.delete(nodes).where(eq(nodes.id, row.id)).run();
      return rows;
    });
    gw.disconnect(row.id, `node ${row.name} was removed`);
    for (const c of gone) gw.events.publish({ type: "removed", containerId: c.id });
    return { name: row.name, forgottenContainers: gone.length };
  }

  /**
   * Gives the node a new credential: the new secret is offered to the agent (which stores it
   * before answering) and accepted alongside the old one until then; once the agent
   * acknowledges, only the new one is. Requires the agent to be connected. One rotation per
   * node at a time: a second one while the first waits for the agent is refused (a pending
   * secret left by a failed attempt is replaced, compare-and-set on the one read).
   */
  async rotateCredential(ref: string): Promise<{ name: string; rotatedAt: number }> {
    const gw = this.fleet();
    const row = this.resolve(ref);
    if (!gw.isOnline(row.id))
      throw new DomainError(
        "unavailable",
        `node ${row.name} is offline: its agent must be connected to receive a new credential`,
      );
    const busy = () =>
      new DomainError(
        "conflict",
        `a credential rotation of node ${row.name} is already in progress: wait for it to finish, then retry`,
      );
    if (this.rotating.has(row.id)) throw busy();
    const secret = newSecret();
    const hash = sha256Hex(secret);
    const seen = row.nextCredentialHash;
    const set = this.db
      .update(nodes)
      .set({ nextCredentialHash: hash })
      .where(
        and(
          eq(nodes.id, row.id),
          seen === null ? isNull(nodes.nextCredentialHash) : eq(nodes.nextCredentialHash, seen),
        ),
      )
      .run();
    if (set.changes === 0) throw busy();
    this.rotating.add(row.id);
    try {
      await gw.send(
        row.id,
        "node.rotate_credential",
        { credential: `${row.id}.${secret}` },
        { timeoutMs: 30_000 },
      );
    } finally {
      this.rotating.delete(row.id);
    }
    promoteCredential(this.db, row.id, hash);
    return { name: row.name, rotatedAt: Date.now() };
  }

  /** Why `teamId` may not place a container on the node, or null when it may. */
  refusal(
    teamId: string,
    node: Pick<NodeRow, "id" | "name" | "cordoned" | "poolId">,
  ): string | null {
    if (node.cordoned)
      return `node ${node.name} is cordoned: it takes no new containers (berth node uncordon ${node.name}, or pick another node)`;
    if (node.poolId === null) return null;
    const grant = this.db
      .select({ poolId: poolGrants.poolId })
      .from(poolGrants)
      .where(and(eq(poolGrants.poolId, node.poolId), eq(poolGrants.teamId, teamId)))
      .get();
    if (grant) return null;
    const pool = this.db
      .select({ name: pools.name })
      .from(pools)
      .where(eq(pools.id, node.poolId))
      .get();
    return `node ${node.name} is in pool ${pool?.name ?? node.poolId}, which is not granted to your team (an administrator can: berth pool grant ${pool?.name ?? node.poolId} TEAM)`;
  }

  /** Throws unless `teamId` may place a new container on the node (not cordoned; pool granted). */
  assertTeamMayUse(teamId: string, nodeId: string): void {
    const node = this.resolve(nodeId);
    const why = this.refusal(teamId, node);
    if (why) throw new DomainError(node.cordoned ? "invalid_state" : "forbidden", why);
  }

  /** Whether `teamId` may place a new container on the node. */
  mayUse(teamId: string, nodeId: string): boolean {
    const node = this.db.select().from(nodes).where(eq(nodes.id, nodeId)).get();
    return node !== undefined && this.refusal(teamId, node) === null;
  }
}
