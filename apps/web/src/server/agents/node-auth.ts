/**
 * How an agent gets and proves its identity: a one-time join token is exchanged for a node
 * credential `<nodeId>.<secret>`; only sha256 digests of both are stored.
 */
import { DomainError, JoinRequestSchema, newId, newSecret, type JoinResponse } from "@berth/core";
import { and, eq, joinTokens, nodes, type Db, type NodeRow } from "@berth/db";
import { z } from "zod";
import { sameDigest, sha256Hex } from "../security";

const unauthenticated = (message: string) => new DomainError("unauthenticated", message);

/** Picks `hostname`, or `hostname-2`, `hostname-3`… when the name is taken. */
function freeNodeName(db: Db, hostname: string): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? hostname : `${hostname}-${i}`;
    if (!db.select({ id: nodes.id }).from(nodes).where(eq(nodes.name, name)).get()) return name;
  }
}

/**
 * Validates a join request, creates the node (in the token's pool, with its labels) and counts
 * the use, in one transaction. Tokens made before uses were counted have `uses` 0 and `usedAt` set.
 */
export function joinNode(db: Db, serverId: string, raw: unknown, now = new Date()): JoinResponse {
  const parsed = JoinRequestSchema.safeParse(raw);
  if (!parsed.success)
    throw new DomainError(
      "invalid_input",
      `invalid join request: ${z.prettifyError(parsed.error)}`,
    );
  const { token, hostname } = parsed.data;
  const secret = newSecret();
  const nodeId = newId();
  const nodeName = db.transaction((tx) => {
    const row = tx
      .select()
      .from(joinTokens)
      .where(eq(joinTokens.tokenHash, sha256Hex(token)))
      .get();
    if (!row) throw unauthenticated("unknown join token");
    if (row.revokedAt !== null) throw unauthenticated("join token revoked");
    const uses = Math.max(row.uses, row.usedAt !== null ? 1 : 0);
    if (uses >= row.maxUses)
      throw unauthenticated(row.maxUses === 1 ? "join token already used" : "join token used up");
    if (row.expiresAt.getTime() <= now.getTime()) throw unauthenticated("join token expired");
    const name = freeNodeName(tx as unknown as Db, hostname);
    tx.insert(nodes)
      .values({
        id: nodeId,
        name,
        credentialHash: sha256Hex(secret),
        status: "offline",
        poolId: row.poolId,
        labels: row.labels,
      })
      .run();
    tx.update(joinTokens)
      .set({ usedAt: now, nodeId, uses: uses + 1 })
      .where(eq(joinTokens.id, row.id))
      .run();
    return name;
  });
  return { nodeId, nodeName, credential: `${nodeId}.${secret}`, serverId };
}

/**
 * The node an `Authorization: Bearer <nodeId>.<secret>` header proves, or null. A rotated secret
 * not yet confirmed (`nextCredentialHash`) proves it too, and becomes the only one: the agent
 * stored it, so the old one is refused from then on.
 */
export function authenticateNode(db: Db, authorization: string | undefined): NodeRow | null {
  const m = /^Bearer ([a-z2-7]{26})\.([A-Za-z0-9_-]{16,256})$/.exec(authorization?.trim() ?? "");
  if (!m) return null;
  const node = db.select().from(nodes).where(eq(nodes.id, m[1]!)).get();
  if (!node) return null;
  const digest = sha256Hex(m[2]!);
  if (sameDigest(node.credentialHash, digest)) return node;
  if (node.nextCredentialHash !== null && sameDigest(node.nextCredentialHash, digest)) {
    promoteCredential(db, node.id, node.nextCredentialHash);
    return { ...node, credentialHash: node.nextCredentialHash, nextCredentialHash: null };
  }
  return null;
}

/** The rotated secret `hash` becomes the node's only credential (when it is still the pending one). */
export function promoteCredential(db: Db, nodeId: string, hash: string): void {
  db.update(nodes)
    .set({ credentialHash: hash, nextCredentialHash: null })
    .where(and(eq(nodes.id, nodeId), eq(nodes.nextCredentialHash, hash)))
    .run();
}
