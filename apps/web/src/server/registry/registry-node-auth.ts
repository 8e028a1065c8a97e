/**
 * Node credentials at the registry: an agent pulling from berth-server's registry for a team
 * sends HTTP Basic `node/<nodeId>` : `<nodeId>.<secret>` (its join credential) and
 * `account=<teamId>` to the token endpoint. The node must be known, online and the secret
 * right; the team must exist. What it gets is the TEAM's pull right on each repository (its
 * own namespace, or a public repository), never push or delete, never another team's images.
 * Tokens carry `sub = node:<nodeId>` and `team`; each request re-checks the node and the team.
 */
import { IdSchema } from "@berth/core";
import { eq, nodes, teams, type Db } from "@berth/db";
import { authenticateNode } from "../agents/node-auth";

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
  return { id: node.id, name: node.name, teamId: team.id, teamName: team.name };
}

/** The node and team behind a node token, re-checked at each request; null when gone. */
export function nodeCallerOf(db: Db, sub: string, teamId: string | undefined): NodeCaller | null {
  const nodeId = sub.slice(NODE_SUBJECT_PREFIX.length);
  const node = db
    .select({ id: nodes.id, name: nodes.name, status: nodes.status })
    .from(nodes)
    .where(eq(nodes.id, nodeId))
    .get();
  if (!node || node.status !== "online") return null;
  const team = teamById(db, teamId);
  if (!team) return null;
  return { id: node.id, name: node.name, teamId: team.id, teamName: team.name };
}
