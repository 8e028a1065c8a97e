/**
 * Which team holds which image on which node (the `image_claims` table), and what a team may
 * see of a node's images. The images live on the agent, whose references (tags) are node-wide;
 * a claim row says "team T gave digest D the name R on node N" (or holds D by id, ref ""). A
 * team sees a reference only while the node's R still names the digest it claimed (a pull by
 * another team that moves R leaves it holding its old image by id instead of handing over other
 * content: recordClaim), plus
 * the node's built-in base image (the system image). Anything else answers "not found", exactly
 * like a missing image. Administrators see everything.
 */
import { DomainError } from "@berth/core";
import { and, eq, imageClaims, inArray, sql, teams, type Db, type ImageClaimRow } from "@berth/db";

/** Who acts: the acting team and whether an administrator (who may use every image). */
export interface ImageActor {
  id: string;
  isAdmin: boolean;
  teamId: string;
}

/** One row of the agent's `image.list`: a reference and the image it names. */
export interface NodeImage {
  ref: string;
  digest: string;
  size: number;
  createdAt: string;
}

/** The reference the agent seeds from the host's busybox (image-store.ts ensureBusybox). */
export const SYSTEM_IMAGE_REF = "busybox:latest";
/** Shown for an image a team holds by id only (docker's `<none>:<none>`). */
export const UNTAGGED_REF = "<none>:<none>";

const ID_RE = /^(?:sha256:)?([0-9a-f]{12,64})$/;
const DOMAIN_RE = /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

/** The hex of an image id (`sha256:…` or 12+ hex digits), or undefined for a reference. */
export function imageIdHex(refOrId: string): string | undefined {
  return ID_RE.exec(refOrId)?.[1];
}

/**
 * The familiar form the agent lists references in (reference.ts `familiarReference`):
 * `busybox` → `busybox:latest`, `docker.io/library/x:1` → `x:1`, `index.docker.io/u/x` →
 * `u/x:latest`; other registries keep their host. The input was validated by ImageRefSchema.
 */
export function familiarRef(ref: string): string {
  let rest = ref;
  let digest = "";
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  let domain = "docker.io";
  let path = rest;
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      (first.includes(".") || first.includes(":") || first === "localhost") &&
      DOMAIN_RE.test(first)
    ) {
      domain = ["index.docker.io", "registry-1.docker.io"].includes(first) ? "docker.io" : first;
      path = rest.slice(slash + 1);
    }
  }
  if (tag === undefined && digest === "") tag = "latest";
  const name = domain === "docker.io" ? path.replace(/^library\//, "") : `${domain}/${path}`;
  return `${name}${tag !== undefined ? `:${tag}` : ""}${digest}`;
}

export function imageNotFound(refOrId: string): DomainError {
  return new DomainError("not_found", `image "${refOrId}" not found on this node`);
}

export function claimsOn(db: Db, nodeIds: string[]): ImageClaimRow[] {
  if (nodeIds.length === 0) return [];
  return db.select().from(imageClaims).where(inArray(imageClaims.nodeId, nodeIds)).all();
}

/**
 * The system image: the seeded `busybox:latest` (created at the epoch, as the agent builds it)
 * that no team holds. A team that pulls, loads or tags over that name holds what it put there,
 * which is then its own image, not everybody's.
 */
export function isSystemImage(row: NodeImage, claims: readonly ImageClaimRow[]): boolean {
  return (
    row.ref === SYSTEM_IMAGE_REF &&
    Date.parse(row.createdAt) === 0 &&
    !claims.some((c) => c.ref === row.ref && c.digest === row.digest)
  );
}

/** What one node's images look like to one actor. */
export interface NodeImages {
  rows: NodeImage[];
  claims: ImageClaimRow[];
}

/** Whether the team holds this reference at this digest. */
export function holds(
  claims: readonly ImageClaimRow[],
  teamId: string,
  row: Pick<NodeImage, "ref" | "digest">,
): boolean {
  return claims.some((c) => c.teamId === teamId && c.ref === row.ref && c.digest === row.digest);
}

/** The node's rows the actor sees (every one for administrators). */
export function visibleRows(actor: ImageActor, n: NodeImages): NodeImage[] {
  if (actor.isAdmin) return n.rows;
  return n.rows.filter((r) => holds(n.claims, actor.teamId, r) || isSystemImage(r, n.claims));
}

/** Digests the actor may name by id: those of its visible rows and its holds by id. */
export function visibleDigests(actor: ImageActor, n: NodeImages): Set<string> {
  const out = new Set(visibleRows(actor, n).map((r) => r.digest));
  if (actor.isAdmin) for (const c of n.claims) out.add(c.digest);
  else for (const c of n.claims) if (c.teamId === actor.teamId) out.add(c.digest);
  return out;
}

/** An image as one actor may name it: its digest, and the reference used (null for an id). */
export interface ResolvedImageRef {
  digest: string;
  ref: string | null;
  /** What to send to the agent: the reference, or the full `sha256:…` id. */
  agentRef: string;
}

/**
 * Resolves `refOrId` among what the actor sees on the node, like the agent's resolveAny: an id
 * (12+ hex digits, with or without `sha256:`) first, then a reference. Another team's image is
 * "not found", as a missing one is, and an id prefix is matched only against visible images.
 */
export function resolveVisible(
  actor: ImageActor,
  n: NodeImages,
  refOrId: string,
): ResolvedImageRef {
  const hex = imageIdHex(refOrId);
  if (hex !== undefined) {
    const hits = [...visibleDigests(actor, n)].filter((d) =>
      d.slice("sha256:".length).startsWith(hex),
    );
    if (hits.length > 1)
      throw new DomainError("conflict", `image id ${refOrId} is ambiguous: use more digits`);
    if (hits.length === 1) return { digest: hits[0]!, ref: null, agentRef: hits[0]! };
  }
  const ref = familiarRef(refOrId);
  const row = visibleRows(actor, n).find((r) => r.ref === ref);
  if (row === undefined) throw imageNotFound(refOrId);
  return { digest: row.digest, ref: row.ref, agentRef: refOrId };
}

/**
 * Refuses a reference the actor's team may not (re)point on the node: one the node has and the
 * team does not hold (another team's, an unowned one, the system image). Administrators may.
 */
export function assertRefFree(actor: ImageActor, n: NodeImages, target: string): void {
  if (actor.isAdmin) return;
  const ref = familiarRef(target);
  const row = n.rows.find((r) => r.ref === ref);
  if (row !== undefined && !holds(n.claims, actor.teamId, row))
    throw new DomainError(
      "conflict",
      `the name ${ref} is already used on this node by an image your team does not hold: pick another name`,
    );
}

/**
 * Records that the actor's team gave `digest` the name `ref` on the node (null: holds it by id).
 * A team's reference names one digest: an older claim of the same name is replaced. The node's
 * name now points at `digest`, so another team's claim of that name on another image becomes a
 * hold by id of that image: it keeps its content, never gains this team's (a pull with this
 * team's credential, a build or commit that raced a check) through a name, and its next `run`
 * of the name pulls with its own credential (images.service.ts beforeRun).
 */
export function recordClaim(
  db: Db,
  actor: Pick<ImageActor, "id" | "teamId">,
  nodeId: string,
  ref: string | null,
  digest: string,
): void {
  const name = ref === null ? "" : familiarRef(ref);
  db.transaction((tx) => {
    if (name !== "") {
      const moved = tx
        .select()
        .from(imageClaims)
        .where(
          and(
            eq(imageClaims.nodeId, nodeId),
            eq(imageClaims.ref, name),
            sql`${imageClaims.teamId} <> ${actor.teamId}`,
            sql`${imageClaims.digest} <> ${digest}`,
          ),
        )
        .all();
      for (const c of moved) {
        tx.insert(imageClaims)
          .values({ nodeId, teamId: c.teamId, ref: "", digest: c.digest, createdBy: c.createdBy })
          .onConflictDoNothing()
          .run();
        tx.delete(imageClaims)
          .where(
            and(
              eq(imageClaims.nodeId, nodeId),
              eq(imageClaims.teamId, c.teamId),
              eq(imageClaims.ref, name),
              eq(imageClaims.digest, c.digest),
            ),
          )
          .run();
      }
      tx.delete(imageClaims)
        .where(
          and(
            eq(imageClaims.nodeId, nodeId),
            eq(imageClaims.teamId, actor.teamId),
            eq(imageClaims.ref, name),
          ),
        )
        .run();
    }
    tx.insert(imageClaims)
      .values({ nodeId, teamId: actor.teamId, ref: name, digest, createdBy: actor.id })
      .onConflictDoNothing()
      .run();
  });
}

/** Team names by id, for the TEAM column administrators see. */
export function teamNames(db: Db, ids: string[]): Map<string, string> {
  if (ids.length === 0) return new Map();
  return new Map(
    db
      .select({ id: teams.id, name: teams.name })
      .from(teams)
      .where(inArray(teams.id, [...new Set(ids)]))
      .all()
      .map((t) => [t.id, t.name]),
  );
}
