/**
 * Images present on the nodes, asked live from each online agent, and the per-node verbs:
 * inspect, tag, rmi and prune (image.* commands). Images live on nodes; a verb goes to the node
 * named, or to the only online node (NodeTargets), like volumes.
 */
import type {
  ImageDetails,
  ImagePullInput,
  ImagePushInput,
  ImageRemoval,
  ImageTransferViewChunk,
} from "@berth/core";
import type { Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import type { AuditEntry } from "../audit/audit.service";
import { NodeTargets, type NodeRefView } from "../nodes/node-target";
import type { RegistriesService } from "../registries/registries.service";
import { imageTransfer, type TransferActor } from "./image-transfer";

export interface ImageView {
  nodeId: string;
  nodeName: string;
  ref: string;
  digest: string;
  size: number;
  /** Epoch ms (API.md: numbers only); 0 when the agent reported a date that does not parse. */
  createdAt: number;
}

export type ImageDetailsView = ImageDetails & { nodeId: string; nodeName: string };
export type ImageRemovalView = ImageRemoval & { nodeId: string; nodeName: string };

const LIST_TIMEOUT_MS = 15_000;
/** Removing blobs and snapshots of big images takes a while on slow disks. */
const GC_TIMEOUT_MS = 120_000;

export class ImagesService {
  private readonly nodes: NodeTargets;

  constructor(
    db: Db,
    private readonly gateway: AgentGateway,
    private readonly registries?: Pick<RegistriesService, "credentialFor" | "pullCredentialFor">,
  ) {
    this.nodes = new NodeTargets(db, gateway);
  }

  /** `images.pull` / `images.push` on one node, with the caller's team credential (image-transfer.ts). */
  transfer(
    actor: TransferActor,
    t: { kind: "pull"; input: ImagePullInput } | { kind: "push"; input: ImagePushInput },
    audit: { record(entry: AuditEntry): void },
    address: string | null,
    signal?: AbortSignal,
  ): AsyncGenerator<ImageTransferViewChunk, void, undefined> {
    const what = t.kind === "pull" ? "pulls the image" : "pushes the image";
    return imageTransfer(
      {
        gateway: this.gateway,
        audit,
        target: (n) => this.nodes.target(n, what),
        credentialFor: (teamId, registry) =>
          t.kind === "pull"
            ? this.registries?.pullCredentialFor(teamId, registry)
            : this.registries?.credentialFor(teamId, registry),
      },
      actor,
      t,
      address,
      signal,
    );
  }

  /** One node's images (it must be online), or those of every online node (offline ones skipped). */
  async list(nodeRef?: string): Promise<ImageView[]> {
    const targets = nodeRef !== undefined ? [this.nodes.named(nodeRef)] : this.nodes.online();
    const settled = await Promise.allSettled(
      targets.map(async (n) => {
        const { images } = await this.gateway.send(
          n.id,
          "image.list",
          {},
          { timeoutMs: LIST_TIMEOUT_MS },
        );
        return images.map((img) => {
          const ms = Date.parse(img.createdAt);
          return {
            nodeId: n.id,
            nodeName: n.name,
            ref: img.ref,
            digest: img.digest,
            size: img.size,
            createdAt: Number.isFinite(ms) ? ms : 0,
          };
        });
      }),
    );
    const out: ImageView[] = [];
    for (const r of settled) {
      if (r.status === "fulfilled") out.push(...r.value);
      else if (nodeRef !== undefined) throw r.reason;
    }
    return out;
  }

  private target(nodeRef: string | undefined): NodeRefView {
    return this.nodes.target(nodeRef, "holds the image");
  }

  async inspect(ref: string, nodeRef?: string): Promise<ImageDetailsView> {
    const n = this.target(nodeRef);
    const d = await this.gateway.send(
      n.id,
      "image.inspect",
      { ref },
      { timeoutMs: LIST_TIMEOUT_MS },
    );
    return { ...d, nodeId: n.id, nodeName: n.name };
  }

  async tag(
    source: string,
    target: string,
    nodeRef?: string,
  ): Promise<{ digest: string; nodeId: string; nodeName: string }> {
    const n = this.target(nodeRef);
    const r = await this.gateway.send(
      n.id,
      "image.tag",
      { source, target },
      { timeoutMs: LIST_TIMEOUT_MS },
    );
    return { ...r, nodeId: n.id, nodeName: n.name };
  }

  async remove(ref: string, force: boolean, nodeRef?: string): Promise<ImageRemovalView> {
    const n = this.target(nodeRef);
    const r = await this.gateway.send(
      n.id,
      "image.remove",
      { ref, force },
      { timeoutMs: GC_TIMEOUT_MS },
    );
    return { ...r, nodeId: n.id, nodeName: n.name };
  }

  /** `image prune` on one node, or on every online node when none is named. */
  async prune(
    all: boolean,
    nodeRef?: string,
  ): Promise<(ImageRemovalView & { reclaimedBytes: number })[]> {
    const targets = nodeRef !== undefined ? [this.nodes.named(nodeRef)] : this.nodes.online();
    const out: (ImageRemovalView & { reclaimedBytes: number })[] = [];
    for (const n of targets) {
      const r = await this.gateway.send(n.id, "image.prune", { all }, { timeoutMs: GC_TIMEOUT_MS });
      out.push({ ...r, nodeId: n.id, nodeName: n.name });
    }
    return out;
  }
}
