/** Nodes as the API shows them: the row, whether its agent is connected, and container counts. */
import { DomainError, type NodeFacts } from "@berth/core";
import { asc, containers, eq, nodes, or, sql, type Db, type NodeRow } from "@berth/db";

export interface NodeView {
  id: string;
  name: string;
  status: "online" | "offline";
  facts: NodeFacts | null;
  lastSeenAt: number | null;
  createdAt: number;
  containers: { running: number; total: number };
}

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

export class NodesService {
  constructor(private readonly db: Db) {}

  private view(row: NodeRow, counts: Map<string, { running: number; total: number }>): NodeView {
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      facts: (row.facts as NodeFacts | null) ?? null,
      lastSeenAt: row.lastSeenAt?.getTime() ?? null,
      createdAt: row.createdAt.getTime(),
      containers: counts.get(row.id) ?? { running: 0, total: 0 },
    };
  }

  list(): NodeView[] {
    const counts = containerCountsByNode(this.db);
    return this.db
      .select()
      .from(nodes)
      .orderBy(asc(nodes.name))
      .all()
      .map((r) => this.view(r, counts));
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

  get(ref: string): NodeView {
    return this.view(this.resolve(ref), containerCountsByNode(this.db));
  }
}
