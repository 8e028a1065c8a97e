/**
 * Node credentials at the registry: an agent pulling from berth-server's registry for a team
 * sends HTTP Basic `node/<nodeId>` : `<nodeId>.<secret>` (its join credential) and
 * `account=<teamId>` to the token endpoint. The node must be known, online and the secret
 * right; the team must exist and be allowed to use the node (no pool, or the node's pool
 * granted to the team). What it gets is the TEAM's pull right on each repository (its
 * own namespace, or a public repository), never push or delete, never another team's images.
 * Tokens carry `sub = node:<nodeId>` and `team`; each request re-checks the node and the team.
 */
import { IdSchema } from "@berth/core";
import { eq, nodes, teams, type Db } from "@berth/db";
import { authenticateNode } from "../agents/node-auth";
import { NodesService } from "../modules/nodes/nodes.service";

/** Basic usernames with this prefix are node credentials (usernames cannot contain `/`). */
export const NODE_USERNAME_PREFIX = "node/";
/** Token subjects of node tokens: `node:<nodeId>`. */
export const NODE_SUBJECT_PREFIX = "node:";

export interface NodeCaller {
  id: string;
  name: string;
  teamId: string;
  teamName: string;
}

export class NodeAuthError extends Error {}

export function isNodeUsername(username: string): boolean {
  return username.startsWith(NODE_USERNAME_PREFIX);
}

/**
 * Why the node may not pull for the team, or null: the team must be allowed to use the node (the
 * node in no pool, or its pool granted to the team — NodesService's rule; cordoning does not
 * matter, a cordoned node still pulls for the containers it runs).
 */
function poolRefusal(
  db: Db,
  teamId: string,
  node: { id: string; name: string; poolId: string | null },
): string | null {
  return new NodesService(db).refusal(teamId, { ...node, cordoned: false });
}

function teamById(db: Db, teamId: string | null | undefined) {
  if (!teamId || !IdSchema.safeParse(teamId).success) return null;
  return (
    db.select({ id: teams.id, name: teams.name }).from(teams).where(eq(teams.id, teamId)).get() ??
    null
  );
}

/** Verifies a node's Basic credentials and the team it pulls for; NodeAuthError says why not. */
export function verifyNodeCredential(
  db: Db,
  username: string,
  password: string,
  account: string | null,
): NodeCaller {
  const nodeId = username.slice(NODE_USERNAME_PREFIX.length);
  const node = authenticateNode(db, `Bearer ${password}`);
  if (!node || node.id !== nodeId) throw new NodeAuthError("invalid node credential");
  if (node.status !== "online") throw new NodeAuthError(`node ${node.name} is not online`);
  const team = teamById(db, account);
  if (!team)
    throw new NodeAuthError(
      `node ${node.name}: account must name the team the pull is for (a team id)`,
    );
  const refusal = poolRefusal(db, team.id, node);
  if (refusal) throw new NodeAuthError(`${refusal}; it may not pull for team ${team.name}`);
  return { id: node.id, name: node.name, teamId: team.id, teamName: team.name };
}

/** The node and team behind a node token, re-checked at each request; null when gone. */
export function nodeCallerOf(db: Db, sub: string, teamId: string | undefined): NodeCaller | null {
  const nodeId = sub.slice(NODE_SUBJECT_PREFIX.length);
  const node = db
    .select({ id: nodes.id, name: nodes.name, status: nodes.status, poolId: nodes.poolId })
    .from(nodes)
    .where(eq(nodes.id, nodeId))
    .get();
  if (!node || node.status !== "online") return null;
  const team = teamById(db, teamId);
  if (!team || poolRefusal(db, team.id, node)) return null;
  return { id: node.id, name: node.name, teamId: team.id, teamName: team.name };
}
