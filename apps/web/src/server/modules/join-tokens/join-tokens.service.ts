/**
 * Join tokens: expiring secrets an agent trades for a node credential (stored hashed). A token
 * may be used by one node (the default) or several, presets the pool and labels of the nodes
 * that join with it, and can be revoked.
 */
import { DomainError, newId, newSecret, type Labels } from "@berth/core";
import { desc, eq, joinTokens, or, pools, type Db } from "@berth/db";
import { sha256Hex } from "../../security";

export const JOIN_TOKEN_PREFIX = "bjt_";

export type JoinTokenStatus = "active" | "used" | "expired" | "revoked";

export interface JoinTokenOptions {
  ttlSeconds: number;
  maxUses?: number;
  /** The pool (id or name) the joining nodes go to. */
  pool?: string | undefined;
  labels?: Labels;
}

export interface JoinTokenView {
  id: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  /** The node that joined last with it. */
  nodeId: string | null;
  uses: number;
  maxUses: number;
  poolId: string | null;
  poolName: string | null;
  labels: Labels;
  revokedAt: number | null;
  status: JoinTokenStatus;
}

export class JoinTokensService {
  constructor(
    private readonly db: Db,
    private readonly publicUrl: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  create(createdBy: string | null, options: number | JoinTokenOptions) {
    const o: JoinTokenOptions = typeof options === "number" ? { ttlSeconds: options } : options;
    let poolId: string | null = null;
    if (o.pool !== undefined) {
      const pool = this.db
        .select({ id: pools.id })
        .from(pools)
        .where(or(eq(pools.id, o.pool), eq(pools.name, o.pool)))
        .get();
      if (!pool)
        throw new DomainError("not_found", `no pool "${o.pool}" (berth pool ls lists them)`);
      poolId = pool.id;
    }
    const token = `${JOIN_TOKEN_PREFIX}${newSecret()}`;
    const id = newId();
    const expiresAt = new Date(this.now().getTime() + o.ttlSeconds * 1000);
    this.db
      .insert(joinTokens)
      .values({
        id,
        tokenHash: sha256Hex(token),
        createdBy,
        expiresAt,
        maxUses: o.maxUses ?? 1,
        poolId,
        labels: o.labels ?? {},
      })
      .run();
    return {
      id,
      token,
      expiresAt: expiresAt.getTime(),
      maxUses: o.maxUses ?? 1,
      command: `berth-agent --server ${this.publicUrl} --join-token ${token}`,
    };
  }

  list(): JoinTokenView[] {
    const now = this.now().getTime();
    const poolNames = new Map(
      this.db
        .select({ id: pools.id, name: pools.name })
        .from(pools)
        .all()
        .map((p) => [p.id, p.name]),
    );
    return this.db
      .select()
      .from(joinTokens)
      .orderBy(desc(joinTokens.createdAt))
      .all()
      .map((t) => {
        const uses = Math.max(t.uses, t.usedAt ? 1 : 0);
        const status: JoinTokenStatus = t.revokedAt
          ? "revoked"
          : uses >= t.maxUses
            ? "used"
            : t.expiresAt.getTime() <= now
              ? "expired"
              : "active";
        return {
          id: t.id,
          createdAt: t.createdAt.getTime(),
          expiresAt: t.expiresAt.getTime(),
          usedAt: t.usedAt?.getTime() ?? null,
          nodeId: t.nodeId,
          uses,
          maxUses: t.maxUses,
          poolId: t.poolId,
          poolName: t.poolId ? (poolNames.get(t.poolId) ?? null) : null,
          labels: t.labels ?? {},
          revokedAt: t.revokedAt?.getTime() ?? null,
          status,
        };
      });
  }

  /** Revokes a token (by id or its first characters): no node joins with it any more. */
  revoke(idOrPrefix: string): JoinTokenView {
    const matches = this.list().filter((t) => t.id === idOrPrefix || t.id.startsWith(idOrPrefix));
    const exact = matches.find((t) => t.id === idOrPrefix);
    const t = exact ?? (matches.length === 1 ? matches[0] : undefined);
    if (!t) {
      throw new DomainError(
        matches.length > 1 ? "invalid_input" : "not_found",
        matches.length > 1
          ? `${matches.length} join tokens start with "${idOrPrefix}": give more of the id`
          : `no join token "${idOrPrefix}" (berth join-token ls lists them)`,
      );
    }
    if (t.revokedAt === null)
      this.db
        .update(joinTokens)
        .set({ revokedAt: this.now() })
        .where(eq(joinTokens.id, t.id))
        .run();
    return this.list().find((x) => x.id === t.id)!;
  }
}
