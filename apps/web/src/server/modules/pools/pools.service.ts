/**
 * Node pools: named groups of nodes, granted to teams. A team may place containers on nodes of
 * the pools granted to it and on nodes in no pool (nodes.service.ts `assertTeamMayUse`).
 */
import { DomainError, newId } from "@berth/core";
import {
  and,
  asc,
  eq,
  joinTokens,
  nodes,
  or,
  poolGrants,
  pools,
  sql,
  teams,
  type Db,
  type PoolRow,
} from "@berth/db";

export interface PoolView {
  id: string;
  name: string;
  createdAt: number;
  nodes: number;
  teams: { id: string; name: string }[];
}

function isUniqueViolation(e: unknown): boolean {
  return e instanceof Error && /UNIQUE constraint failed: pools\.name/.test(e.message);
}

export class PoolsService {
  constructor(private readonly db: Db) {}

  resolve(ref: string): PoolRow {
    const row = this.db
      .select()
      .from(pools)
      .where(or(eq(pools.id, ref), eq(pools.name, ref)))
      .get();
    if (!row) throw new DomainError("not_found", `no pool "${ref}" (berth pool ls lists them)`);
    return row;
  }

  private team(ref: string): { id: string; name: string } {
    const row = this.db
      .select({ id: teams.id, name: teams.name })
      .from(teams)
      .where(or(eq(teams.id, ref), eq(teams.name, ref)))
      .get();
    if (!row) throw new DomainError("not_found", `no team "${ref}"`);
    return row;
  }

  create(name: string): PoolView {
    const id = newId();
    try {
      this.db.insert(pools).values({ id, name }).run();
    } catch (e) {
      if (isUniqueViolation(e)) throw new DomainError("conflict", `pool ${name} already exists`);
      throw e;
    }
    return this.get(id);
  }

  list(): PoolView[] {
    const counts = new Map(
      this.db
        .select({ poolId: nodes.poolId, n: sql<number>`count(*)` })
        .from(nodes)
        .groupBy(nodes.poolId)
        .all()
        .map((r) => [r.poolId, Number(r.n)]),
    );
    const grants = this.db
      .select({ poolId: poolGrants.poolId, id: teams.id, name: teams.name })
      .from(poolGrants)
      .innerJoin(teams, eq(teams.id, poolGrants.teamId))
      .orderBy(asc(teams.name))
      .all();
    return this.db
      .select()
      .from(pools)
      .orderBy(asc(pools.name))
      .all()
      .map((p) => ({
        id: p.id,
        name: p.name,
        createdAt: p.createdAt.getTime(),
        nodes: counts.get(p.id) ?? 0,
        teams: grants.filter((g) => g.poolId === p.id).map((g) => ({ id: g.id, name: g.name })),
      }));
  }

  get(ref: string): PoolView {
    const id = this.resolve(ref).id;
    return this.list().find((p) => p.id === id)!;
  }

  /** Deletes the pool: its nodes and join tokens are left in no pool, its grants go. */
  remove(ref: string): { name: string; releasedNodes: number } {
    const pool = this.resolve(ref);
    const released = this.db.transaction((tx) => {
      const n = tx
        .update(nodes)
        .set({ poolId: null })
        .where(eq(nodes.poolId, pool.id))
        .returning({ id: nodes.id })
        .all().length;
      tx.update(joinTokens).set({ poolId: null }).where(eq(joinTokens.poolId, pool.id)).run();
      tx.delete(poolGrants).where(eq(poolGrants.poolId, pool.id)).run();
      tx.delete(pools).where(eq(pools.id, pool.id)).run();
      return n;
    });
    return { name: pool.name, releasedNodes: released };
  }

  /** Lets `teamRef` place containers on the pool's nodes (idempotent). */
  grant(ref: string, teamRef: string): PoolView {
    const pool = this.resolve(ref);
    const team = this.team(teamRef);
    this.db
      .insert(poolGrants)
      .values({ poolId: pool.id, teamId: team.id })
      .onConflictDoNothing()
      .run();
    return this.get(pool.id);
  }

  /** Takes the grant away (containers already running stay). */
  revoke(ref: string, teamRef: string): PoolView {
    const pool = this.resolve(ref);
    const team = this.team(teamRef);
    const gone = this.db
      .delete(poolGrants)
      .where(and(eq(poolGrants.poolId, pool.id), eq(poolGrants.teamId, team.id)))
      .returning()
      .all();
    if (gone.length === 0)
      throw new DomainError("not_found", `pool ${pool.name} is not granted to team ${team.name}`);
    return this.get(pool.id);
  }
}
