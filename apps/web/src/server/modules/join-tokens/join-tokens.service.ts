/** Join tokens: single-use, expiring secrets an agent trades for a node credential (stored hashed). */
import { newId, newSecret } from "@berth/core";
import { desc, joinTokens, type Db } from "@berth/db";
import { sha256Hex } from "../../security";

export const JOIN_TOKEN_PREFIX = "bjt_";

export type JoinTokenStatus = "active" | "used" | "expired";

export class JoinTokensService {
  constructor(
    private readonly db: Db,
    private readonly publicUrl: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  create(createdBy: string | null, ttlSeconds: number) {
    const token = `${JOIN_TOKEN_PREFIX}${newSecret()}`;
    const id = newId();
    const expiresAt = new Date(this.now().getTime() + ttlSeconds * 1000);
    this.db
      .insert(joinTokens)
      .values({ id, tokenHash: sha256Hex(token), createdBy, expiresAt })
      .run();
    return {
      id,
      token,
      expiresAt: expiresAt.getTime(),
      command: `berth-agent --server ${this.publicUrl} --join-token ${token}`,
    };
  }

  list() {
    const now = this.now().getTime();
    return this.db
      .select()
      .from(joinTokens)
      .orderBy(desc(joinTokens.createdAt))
      .all()
      .map((t) => ({
        id: t.id,
        createdAt: t.createdAt.getTime(),
        expiresAt: t.expiresAt.getTime(),
        usedAt: t.usedAt?.getTime() ?? null,
        nodeId: t.nodeId,
        status: (t.usedAt
          ? "used"
          : t.expiresAt.getTime() <= now
            ? "expired"
            : "active") as JoinTokenStatus,
      }));
  }
}
