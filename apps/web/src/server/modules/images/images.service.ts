/**
 * Images present on the nodes, asked live from each online agent, and the per-node verbs:
 * inspect, tag, rmi, prune, pull and push (image.* commands). Images live on nodes; a verb goes
 * to the node named, or to the only online node (NodeTargets), like volumes.
 *
 * Images belong to teams (image-claims.ts): a team sees, names and removes only the images it
 * holds on nodes its pools include, plus the node's built-in base image; another team's image
 * is "not found". Administrators see every image with the teams that hold it, and may assign an
 * unclaimed image to a team. `rmi` drops the team's hold; the image leaves the node only when no
 * other team holds it (docker's untag-versus-delete, per team).
 */
import {
  DomainError,
  type ImageDetails,
  type ImagePullInput,
  type ImagePushInput,
  type ImageRemoval,
  type ImageTransferViewChunk,
  registryOfReference,
  type RegistryCredentialBody,
} from "@berth/core";
import {
  and,
  containers,
  eq,
  imageClaims,
  inArray,
  nodes,
  or,
  poolGrants,
  teams,
  type Db,
  type NodeRow,
} from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import type { AuditEntry } from "../audit/audit.service";
import { NodeTargets, type NodeRefView } from "../nodes/node-target";
import type { RegistriesService } from "../registries/registries.service";
import { registryAuthError } from "../registries/registries.service";
import {
  assertRefFree,
  claimsOn,
  familiarRef,
  holds,
  imageIdHex,
  imageNotFound,
  isSystemImage,
  recordClaim,
  resolveVisible,
  SYSTEM_IMAGE_REF,
  teamNames,
  UNTAGGED_REF,
  visibleDigests,
  visibleRows,
  type ImageActor,
  type NodeImage,
  type NodeImages,
} from "./image-claims";
import { imageTransfer, type TransferActor } from "./image-transfer";

export interface ImageView {
  nodeId: string;
  nodeName: string;
  ref: string;
  digest: string;
  size: number;
  /** Epoch ms (API.md: numbers only); 0 when the agent reported a date that does not parse. */
  createdAt: number;
  /**
   * Teams that hold the image under this reference: the caller's own for members; every holder
   * for administrators (empty: nobody's, only administrators see those).
   */
  teams: string[];
  /** The node's built-in base image, which every team served by the node may use. */
  system: boolean;
  /** "fleet": an administrator's listing of every team's images (the CLI's TEAM column). */
  scope: "team" | "fleet";
}

export type ImageDetailsView = ImageDetails & { nodeId: string; nodeName: string };
export type ImageRemovalView = ImageRemoval & { nodeId: string; nodeName: string };

const LIST_TIMEOUT_MS = 15_000;
/** Removing blobs and snapshots of big images takes a while on slow disks. */
const GC_TIMEOUT_MS = 120_000;
const PULL_TIMEOUT_MS = 10 * 60_000;

export class ImagesService {
  private readonly nodes: NodeTargets;

  constructor(
    private readonly db: Db,
    private readonly gateway: AgentGateway,
    private readonly registries?: Pick<RegistriesService, "credentialFor" | "pullCredentialFor">,
  ) {
    this.nodes = new NodeTargets(db, gateway);
  }

  // ---- nodes a team may see -------------------------------------------------------------------

  /** Whether the node is in no pool or in a pool granted to the team (cordoning aside). */
  private serves(teamId: string, node: Pick<NodeRow, "poolId">): boolean {
    if (node.poolId === null) return true;
    return (
      this.db
        .select({ poolId: poolGrants.poolId })
        .from(poolGrants)
        .where(and(eq(poolGrants.poolId, node.poolId), eq(poolGrants.teamId, teamId)))
        .get() !== undefined
    );
  }

  private assertServes(actor: ImageActor, node: NodeRefView): void {
    if (actor.isAdmin) return;
    const row = this.db.select().from(nodes).where(eq(nodes.id, node.id)).get();
    if (row === undefined || !this.serves(actor.teamId, row))
      throw new DomainError("not_found", `no node "${node.name}" serves your team`);
  }

  /** The node a verb goes to: the one named (which must serve the team), or the only online one. */
  target(actor: ImageActor, nodeRef: string | undefined, what = "holds the image"): NodeRefView {
    if (nodeRef !== undefined) {
      const n = this.nodes.named(nodeRef);
      this.assertServes(actor, n);
      return n;
    }
    const up = this.online(actor);
    if (up.length === 1) return up[0]!;
    if (up.length === 0)
      throw new DomainError("unavailable", "no node serving your team is online");
    throw new DomainError(
      "invalid_input",
      `${up.length} nodes are online: say which one ${what} (--node)`,
    );
  }

  /** Online nodes the actor may see (every one for administrators). */
  private online(actor: ImageActor): NodeRefView[] {
    const up = this.nodes.online();
    if (actor.isAdmin) return up;
    const rows = this.db
      .select({ id: nodes.id, poolId: nodes.poolId })
      .from(nodes)
      .where(
        inArray(
          nodes.id,
          up.map((n) => n.id),
        ),
      )
      .all();
    const ok = new Set(rows.filter((r) => this.serves(actor.teamId, r)).map((r) => r.id));
    return up.filter((n) => ok.has(n.id));
  }

  // ---- what a node holds ----------------------------------------------------------------------

  private async rows(nodeId: string): Promise<NodeImage[]> {
    const { images } = await this.gateway.send(
      nodeId,
      "image.list",
      {},
      { timeoutMs: LIST_TIMEOUT_MS },
    );
    return images;
  }

  /** The node's images and every team's claims on it. */
  async nodeImages(nodeId: string): Promise<NodeImages> {
    const rows = await this.rows(nodeId);
    return { rows, claims: claimsOn(this.db, [nodeId]) };
  }

  /** What to send the node for an image the actor names there (another team's: not found). */
  async agentRefFor(actor: ImageActor, node: NodeRefView, refOrId: string): Promise<string> {
    // Administrators name anything; the agent resolves it (and says when it is missing).
    if (actor.isAdmin) return refOrId;
    return resolveVisible(actor, await this.nodeImages(node.id), refOrId).agentRef;
  }

  /** Several images the actor names on the node, as to send them to the agent. */
  async resolveAll(
    actor: ImageActor,
    node: NodeRefView,
    refs: readonly string[],
  ): Promise<string[]> {
    if (actor.isAdmin) return [...refs];
    const ni = await this.nodeImages(node.id);
    return refs.map((r) => resolveVisible(actor, ni, r).agentRef);
  }

  /** Refuses (conflict) a name the actor's team may not point at an image on the node. */
  async assertRefsFree(
    actor: ImageActor,
    node: NodeRefView,
    refs: readonly string[],
  ): Promise<void> {
    if (actor.isAdmin || refs.length === 0) return;
    const n = await this.nodeImages(node.id);
    for (const r of refs) assertRefFree(actor, n, r);
  }

  /**
   * Before a build on the node (one `image.list`): its tags must be free for the team, and it
   * may start (FROM, COPY --from) only from the team's images — its holds and the system image
   * — which the node is told; another team's image is missing to the build (pulled anonymously,
   * or not found). Undefined for administrators: any image.
   */
  async beforeBuild(
    actor: ImageActor,
    node: NodeRefView,
    tags: readonly string[],
  ): Promise<string[] | undefined> {
    if (actor.isAdmin) return undefined;
    const n = await this.nodeImages(node.id);
    for (const t of tags) assertRefFree(actor, n, t);
    return [...visibleDigests(actor, n)].sort();
  }

  /** Stamps the actor's team as a holder of `digest` (named `ref`) on the node. */
  claim(
    actor: Pick<ImageActor, "id" | "teamId">,
    nodeId: string,
    ref: string | null,
    digest: string,
  ): void {
    recordClaim(this.db, actor, nodeId, ref, digest);
  }

  // ---- verbs ----------------------------------------------------------------------------------

  /** `images.pull` / `images.push` on one node, with the caller's team credential (image-transfer.ts). */
  transfer(
    caller: TransferActor & { isAdmin?: boolean },
    t: { kind: "pull"; input: ImagePullInput } | { kind: "push"; input: ImagePushInput },
    audit: { record(entry: AuditEntry): void },
    address: string | null,
    signal?: AbortSignal,
  ): AsyncGenerator<ImageTransferViewChunk, void, undefined> {
    const actor = { ...caller, isAdmin: caller.isAdmin ?? false };
    const what = t.kind === "pull" ? "pulls the image" : "pushes the image";
    return imageTransfer(
      {
        gateway: this.gateway,
        audit,
        target: (n) => this.target(actor, n, what),
        credentialFor: (teamId, registry) =>
          t.kind === "pull"
            ? this.registries?.pullCredentialFor(teamId, registry)
            : this.registries?.credentialFor(teamId, registry),
        // push: the source must be the team's; sent to the node as resolved here.
        source: (node, source) => this.agentRefFor(actor, node, source),
        pulled: (node, ref, digest) => this.pulled(actor, node.id, ref, digest),
      },
      actor,
      t,
      address,
      signal,
    );
  }

  /**
   * The actor's images on one node (it must be online and serve the team) or on every online
   * node serving it (offline ones skipped); administrators get every image, with its holders.
   */
  async list(actor: ImageActor, nodeRef?: string): Promise<ImageView[]> {
    const targets = nodeRef !== undefined ? [this.target(actor, nodeRef)] : this.online(actor);
    const claims = claimsOn(
      this.db,
      targets.map((n) => n.id),
    );
    const names = teamNames(
      this.db,
      claims.map((c) => c.teamId),
    );
    const settled = await Promise.allSettled(
      targets.map(async (n) => {
        const rows = await this.rows(n.id);
        const own = claims.filter((c) => c.nodeId === n.id);
        const ni: NodeImages = { rows, claims: own };
        const view = (img: NodeImage, ref: string): ImageView => {
          const ms = Date.parse(img.createdAt);
          const holders = own
            .filter((c) => c.digest === img.digest && (c.ref === ref || ref === UNTAGGED_REF))
            .filter((c) => actor.isAdmin || c.teamId === actor.teamId)
            .map((c) => names.get(c.teamId) ?? c.teamId);
          return {
            nodeId: n.id,
            nodeName: n.name,
            ref,
            digest: img.digest,
            size: img.size,
            createdAt: Number.isFinite(ms) ? ms : 0,
            teams: [...new Set(holders)].sort(),
            system: isSystemImage(img, own),
            scope: actor.isAdmin ? "fleet" : "team",
          };
        };
        const shown = visibleRows(actor, ni).map((img) => view(img, img.ref));
        // Held by id only, while the node still has the image under names the team can't see.
        const seen = new Set(shown.map((v) => v.digest));
        for (const d of visibleDigests(actor, ni)) {
          if (seen.has(d)) continue;
          const img = rows.find((r) => r.digest === d);
          if (img !== undefined) {
            seen.add(d);
            shown.push(view(img, UNTAGGED_REF));
          }
        }
        return shown;
      }),
    );
    const out: ImageView[] = [];
    for (const r of settled) {
      if (r.status === "fulfilled") out.push(...r.value);
      else if (nodeRef !== undefined) throw r.reason;
    }
    return out;
  }

  async inspect(actor: ImageActor, ref: string, nodeRef?: string): Promise<ImageDetailsView> {
    const n = this.target(actor, nodeRef);
    let allowedRefs: Set<string> | undefined;
    let agentRef = ref;
    if (!actor.isAdmin) {
      const ni = await this.nodeImages(n.id);
      agentRef = resolveVisible(actor, ni, ref).agentRef;
      allowedRefs = new Set(visibleRows(actor, ni).map((r) => r.ref));
    }
    const d = await this.gateway.send(
      n.id,
      "image.inspect",
      { ref: agentRef },
      { timeoutMs: LIST_TIMEOUT_MS },
    );
    // Other teams' names for the same image are theirs.
    const refs = allowedRefs === undefined ? d.refs : d.refs.filter((r) => allowedRefs.has(r));
    return { ...d, refs, nodeId: n.id, nodeName: n.name };
  }

  async tag(
    actor: ImageActor & { username?: string },
    source: string,
    target: string,
    nodeRef?: string,
  ): Promise<{ digest: string; nodeId: string; nodeName: string }> {
    const n = this.target(actor, nodeRef);
    let agentSource = source;
    if (!actor.isAdmin) {
      const ni = await this.nodeImages(n.id);
      agentSource = resolveVisible(actor, ni, source).agentRef;
      assertRefFree(actor, ni, target);
    }
    const r = await this.gateway.send(
      n.id,
      "image.tag",
      { source: agentSource, target },
      { timeoutMs: LIST_TIMEOUT_MS },
    );
    this.claim(actor, n.id, target, r.digest);
    return { ...r, nodeId: n.id, nodeName: n.name };
  }

  /**
   * `rmi`: drops the team's hold on the image (by reference: that name; by id: every name the
   * team gave it). A name only this team holds is untagged on the node, and the node deletes the
   * image once nothing names or uses it; a name another team holds too stays on the node.
   * Administrators remove on the node directly (every team's hold on what goes is dropped).
   */
  async remove(
    actor: ImageActor,
    ref: string,
    force: boolean,
    nodeRef?: string,
  ): Promise<ImageRemovalView> {
    const n = this.target(actor, nodeRef);
    if (actor.isAdmin) {
      // Teams' holds by id stay: an administrator's rmi of one image collects no one else's.
      const keep = heldDigests(claimsOn(this.db, [n.id]));
      const r = await this.gateway.send(
        n.id,
        "image.remove",
        { ref, force, keep },
        { timeoutMs: GC_TIMEOUT_MS },
      );
      this.forget(n.id, r);
      return { ...r, nodeId: n.id, nodeName: n.name };
    }
    const ni = await this.nodeImages(n.id);
    const img = resolveVisible(actor, ni, ref);
    const mine = ni.claims.filter((c) => c.teamId === actor.teamId && c.digest === img.digest);
    const row = ni.rows.find((r) => r.ref === img.ref && r.digest === img.digest);
    if (row !== undefined && isSystemImage(row, ni.claims))
      throw new DomainError(
        "forbidden",
        `${row.ref} is the node's built-in base image: only an administrator may remove it`,
      );
    const myRefs = mine.map((c) => c.ref).filter((r) => r !== "");
    const current = new Set(ni.rows.filter((r) => r.digest === img.digest).map((r) => r.ref));
    let names: string[];
    if (img.ref === null) {
      const live = myRefs.filter((r) => current.has(r));
      if (live.length > 1 && !force)
        throw new DomainError(
          "conflict",
          `image ${img.digest.slice(7, 19)} is referenced by ${live.join(", ")}: remove those references or use --force`,
        );
      names = myRefs;
    } else names = [img.ref];
    // The last name this team gives the image goes: so does its hold by id.
    const dropAll = img.ref === null || myRefs.every((r) => names.includes(r));
    const untagged: string[] = [];
    const deleted: string[] = [];
    // What the node must keep although untagged: every hold but this team's on this image.
    const keep = heldDigests(
      ni.claims.filter((c) => c.teamId !== actor.teamId || c.digest !== img.digest),
    );
    for (const name of names) {
      const shared = ni.claims.some(
        (c) => c.teamId !== actor.teamId && c.ref === name && c.digest === img.digest,
      );
      if (current.has(name) && !shared) {
        const r = await this.gateway.send(
          n.id,
          "image.remove",
          { ref: name, force, keep },
          { timeoutMs: GC_TIMEOUT_MS },
        );
        deleted.push(...r.deleted);
      }
      this.drop(n.id, actor.teamId, name, img.digest);
      untagged.push(name);
    }
    if (dropAll) this.drop(n.id, actor.teamId, "", img.digest);
    return { untagged, deleted: [...new Set(deleted)], nodeId: n.id, nodeName: n.name };
  }

  private drop(nodeId: string, teamId: string, ref: string, digest: string): void {
    this.db
      .delete(imageClaims)
      .where(
        and(
          eq(imageClaims.nodeId, nodeId),
          eq(imageClaims.teamId, teamId),
          eq(imageClaims.ref, ref),
          eq(imageClaims.digest, digest),
        ),
      )
      .run();
  }

  /** After the node untagged or deleted images: holds on what is gone go too. */
  private forget(nodeId: string, r: ImageRemoval): void {
    for (const ref of r.untagged)
      this.db
        .delete(imageClaims)
        .where(and(eq(imageClaims.nodeId, nodeId), eq(imageClaims.ref, familiarRef(ref))))
        .run();
    if (r.deleted.length > 0)
      this.db
        .delete(imageClaims)
        .where(and(eq(imageClaims.nodeId, nodeId), inArray(imageClaims.digest, r.deleted)))
        .run();
  }

  /**
   * `image prune` on one node, or on every online node the actor may see. A team prunes only its
   * own images: with `all`, every name it holds that no container on the node uses (names other
   * teams hold too stay on the node); then the node's garbage collector frees what nothing
   * names. Administrators run the node's prune as it is.
   */
  async prune(
    actor: ImageActor,
    all: boolean,
    nodeRef?: string,
  ): Promise<(ImageRemovalView & { reclaimedBytes: number })[]> {
    const targets = nodeRef !== undefined ? [this.target(actor, nodeRef)] : this.online(actor);
    const out: (ImageRemovalView & { reclaimedBytes: number })[] = [];
    for (const n of targets) {
      const untagged: string[] = [];
      if (!actor.isAdmin && all) {
        const ni = await this.nodeImages(n.id);
        const used = this.imagesInUse(n.id);
        const othersHold = heldDigests(ni.claims.filter((o) => o.teamId !== actor.teamId));
        for (const c of ni.claims) {
          if (c.teamId !== actor.teamId || c.ref === "") continue;
          if (used.refs.has(c.ref) || used.digests.has(c.digest)) continue;
          const shared = ni.claims.some(
            (o) => o.teamId !== actor.teamId && o.ref === c.ref && o.digest === c.digest,
          );
          const live = ni.rows.some((r) => r.ref === c.ref && r.digest === c.digest);
          if (live && !shared) {
            try {
              await this.gateway.send(
                n.id,
                "image.remove",
                { ref: c.ref, force: false, keep: othersHold },
                { timeoutMs: GC_TIMEOUT_MS },
              );
            } catch (e) {
              if (e instanceof DomainError && e.kind === "conflict") continue; // in use
              throw e;
            }
          }
          this.drop(n.id, actor.teamId, c.ref, c.digest);
          untagged.push(c.ref);
        }
      }
      // A member's prune frees only what no team holds (its own untagged images included once it
      // dropped them above); an administrator's prunes the node.
      const keep = actor.isAdmin
        ? undefined
        : heldDigests(
            claimsOn(this.db, [n.id]).filter((c) => c.teamId !== actor.teamId || c.ref !== ""),
          );
      const r = await this.gateway.send(
        n.id,
        "image.prune",
        { all: actor.isAdmin && all, ...(keep ? { keep } : {}) },
        { timeoutMs: GC_TIMEOUT_MS },
      );
      // What the node deleted is nobody's any more (and what an administrator untagged).
      this.forget(n.id, { untagged: actor.isAdmin ? r.untagged : [], deleted: r.deleted });
      out.push({
        untagged: actor.isAdmin ? r.untagged : untagged,
        deleted: r.deleted,
        reclaimedBytes: r.reclaimedBytes,
        nodeId: n.id,
        nodeName: n.name,
      });
    }
    return out;
  }

  /** References and ids the containers on a node were made from. */
  private imagesInUse(nodeId: string): { refs: Set<string>; digests: Set<string> } {
    const refs = new Set<string>();
    const digests = new Set<string>();
    for (const { image } of this.db
      .select({ image: containers.image })
      .from(containers)
      .where(eq(containers.nodeId, nodeId))
      .all()) {
      const hex = imageIdHex(image);
      if (hex !== undefined && hex.length === 64) digests.add(`sha256:${hex}`);
      else refs.add(familiarRef(image));
    }
    return { refs, digests };
  }

  /**
   * An administrator gives `team` a hold on an image of the node: by reference, that name; by
   * id, every name the node has for it that no team holds (or a hold by id when none).
   */
  async assign(
    teamRef: string,
    by: { id: string },
    ref: string,
    nodeRef?: string,
  ): Promise<ImageView[]> {
    const team = this.db
      .select({ id: teams.id })
      .from(teams)
      .where(or(eq(teams.id, teamRef), eq(teams.name, teamRef)))
      .get();
    if (team === undefined)
      throw new DomainError("not_found", `no team ${JSON.stringify(teamRef)} (berth team ls)`);
    const admin: ImageActor = { id: by.id, isAdmin: true, teamId: team.id };
    const n = this.target(admin, nodeRef);
    const ni = await this.nodeImages(n.id);
    const hex = imageIdHex(ref);
    const byId =
      hex === undefined
        ? []
        : [...new Set(ni.rows.map((r) => r.digest))].filter((d) => d.slice(7).startsWith(hex));
    if (byId.length > 1)
      throw new DomainError("conflict", `image id ${ref} is ambiguous: use more digits`);
    const actor = { id: by.id, teamId: team.id };
    if (byId.length === 1) {
      const digest = byId[0]!;
      const free = ni.rows.filter(
        (r) =>
          r.digest === digest &&
          !isSystemImage(r, ni.claims) &&
          !ni.claims.some((c) => c.ref === r.ref && c.digest === digest),
      );
      if (free.length === 0) this.claim(actor, n.id, null, digest);
      for (const r of free) this.claim(actor, n.id, r.ref, digest);
    } else {
      const name = familiarRef(ref);
      const row = ni.rows.find((r) => r.ref === name);
      if (row === undefined) throw imageNotFound(ref);
      if (isSystemImage(row, ni.claims))
        throw new DomainError(
          "invalid_input",
          `${row.ref} is the node's built-in base image: every team the node serves already sees it`,
        );
      this.claim(actor, n.id, name, row.digest);
    }
    return (await this.list(admin, n.id)).filter((v) => v.nodeId === n.id);
  }

  // ---- container run / commit (containers.service.ts hooks) -----------------------------------

  /**
   * Before `run` / `create` on a node. A member's image must be one the team holds there (the
   * claims say so without asking the node) or the system image. One the node has but the team
   * does not hold (another team's, an unowned one) is pulled first with the team's credential,
   * so a team never runs content it could not pull itself; when that pull fails, its error is
   * the answer. One the node lacks is pulled by the run itself: the team holds it afterwards
   * (the returned function stamps it). Administrators run what is there, stamping nothing.
   */
  async beforeRun(
    actor: ImageActor,
    nodeId: string,
    image: string,
    credential: RegistryCredentialBody | undefined,
  ): Promise<() => Promise<void>> {
    const nothing = async () => undefined;
    if (actor.isAdmin) return nothing;
    const claims = claimsOn(this.db, [nodeId]);
    const hex = imageIdHex(image);
    const name = hex === undefined ? familiarRef(image) : null;
    const mine = claims.filter((c) => c.teamId === actor.teamId);
    if (
      hex !== undefined
        ? mine.some((c) => c.digest.slice("sha256:".length).startsWith(hex))
        : mine.some((c) => c.ref === name)
    )
      return nothing;
    // The seeded base image, which no team holds (a team that put its own there holds it).
    if (name === SYSTEM_IMAGE_REF && !claims.some((c) => c.ref === SYSTEM_IMAGE_REF))
      return nothing;
    const rows = await this.rows(nodeId);
    if (hex !== undefined) throw imageNotFound(image);
    if (!rows.some((r) => r.ref === name))
      return async () => {
        try {
          const d = await this.gateway.send(
            nodeId,
            "image.inspect",
            { ref: image },
            { timeoutMs: LIST_TIMEOUT_MS },
          );
          this.claim(actor, nodeId, name, d.digest);
        } catch {
          // gone already (removed meanwhile): nothing to stamp
        }
      };
    await this.pullFor(actor, nodeId, image, credential);
    return nothing;
  }

  /** Pulls `ref` onto the node for the actor's team and stamps its hold. */
  private async pullFor(
    actor: ImageActor,
    nodeId: string,
    ref: string,
    credential: RegistryCredentialBody | undefined,
  ): Promise<void> {
    let digest: string | undefined;
    try {
      for await (const c of this.gateway.stream(
        nodeId,
        "image.pull",
        { ref, ...(credential === undefined ? {} : { credential }) },
        AbortSignal.timeout(PULL_TIMEOUT_MS),
      ))
        if (c.digest !== undefined) digest = c.digest;
    } catch (e) {
      throw registryAuthError(e, registryOfReference(ref));
    }
    if (digest !== undefined) this.pulled(actor, nodeId, ref, digest);
  }

  /**
   * A pull put `digest` under `ref` on the node for the actor's team, with its credential.
   * Other teams that held the name at another image keep that image by id and do not follow
   * the name (recordClaim): what this team's credential fetched is not theirs, and a team could
   * otherwise pre-claim a private image's name to receive it when its owner pulls.
   */
  pulled(
    actor: Pick<ImageActor, "id" | "teamId">,
    nodeId: string,
    ref: string,
    digest: string,
  ): void {
    this.claim(actor, nodeId, familiarRef(ref), digest);
  }

  /**
   * After `load`: a name the archive carries that another team holds at another image is given
   * back to that team (re-tagged on the node), and the loading team holds its image by id. So
   * is a name the node had before (`before`: its rows ahead of the load) at another image the
   * team did not hold — the system image, an unowned one. A load never takes over a name that
   * was not the team's. Returns what the loading team got.
   */
  async loaded(
    actor: ImageActor,
    nodeId: string,
    loaded: readonly { ref: string | null; digest: string }[],
    before?: readonly NodeImage[],
  ): Promise<{ ref: string | null; digest: string }[]> {
    const out: { ref: string | null; digest: string }[] = [];
    const claims = claimsOn(this.db, [nodeId]);
    for (const l of loaded) {
      const name = l.ref === null ? null : familiarRef(l.ref);
      const other =
        name === null || actor.isAdmin
          ? undefined
          : (claims.find(
              (c) => c.ref === name && c.teamId !== actor.teamId && c.digest !== l.digest,
            ) ??
            before?.find(
              (r) =>
                r.ref === name &&
                r.digest !== l.digest &&
                !holds(claims, actor.teamId, { ref: name, digest: r.digest }),
            ));
      if (other !== undefined && name !== null) {
        await this.gateway.send(
          nodeId,
          "image.tag",
          { source: other.digest, target: name },
          { timeoutMs: LIST_TIMEOUT_MS },
        );
        this.claim(actor, nodeId, null, l.digest);
        out.push({ ref: null, digest: l.digest });
        continue;
      }
      this.claim(actor, nodeId, name, l.digest);
      out.push({ ref: name, digest: l.digest });
    }
    return out;
  }

  /** Before `commit` to a name: the name must be free for the team on the node. */
  async beforeCommit(actor: ImageActor, nodeId: string, ref: string | undefined): Promise<void> {
    if (ref === undefined || actor.isAdmin) return;
    assertRefFree(actor, await this.nodeImages(nodeId), ref);
  }
}

/** The distinct image ids the claims hold (the node's GC keeps them though untagged). */
function heldDigests(claims: readonly { digest: string }[]): string[] {
  return [...new Set(claims.map((c) => c.digest))];
}
