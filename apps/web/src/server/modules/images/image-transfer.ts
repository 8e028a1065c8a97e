/**
 * `images.pull` / `images.push`: relays the agent's `image.pull` / `image.push` stream (progress
 * chunks, then `{digest, ref}`) with the caller's team credential for the registry attached.
 * Subscriptions escape the audit middleware, so the start is audited here as `containers.exec`
 * does: the reference(s) and node — never the credential — "ok" once the agent answered.
 */
import {
  ImagePullInputSchema,
  ImagePushInputSchema,
  registryOfReference,
  type ImagePullInput,
  type ImagePushInput,
  type ImageTransferViewChunk,
  type RegistryCredentialBody,
} from "@berth/core";
import type { AgentGateway } from "../../agents/gateway";
import type { AuditEntry } from "../audit/audit.service";
import type { NodeRefView } from "../nodes/node-target";
import { registryAuthError } from "../registries/registries.service";

export interface TransferActor {
  id: string;
  username: string;
  teamId: string;
}

export interface TransferDeps {
  gateway: Pick<AgentGateway, "stream">;
  audit: { record(entry: AuditEntry): void };
  target(nodeRef: string | undefined): NodeRefView;
  credentialFor(teamId: string, registry: string): RegistryCredentialBody | undefined;
  /** push: what to send as the source (it must be an image of the caller's team). */
  source?(node: NodeRefView, source: string): Promise<string>;
  /** pull: the image arrived on the node for the caller's team (its hold is stamped). */
  pulled?(node: NodeRefView, ref: string, digest: string): void;
}

type Transfer = { kind: "pull"; input: ImagePullInput } | { kind: "push"; input: ImagePushInput };

export async function* imageTransfer(
  deps: TransferDeps,
  actor: TransferActor,
  t: Transfer,
  address: string | null,
  signal?: AbortSignal,
): AsyncGenerator<ImageTransferViewChunk, void, undefined> {
  const action = t.kind === "pull" ? "images.pull" : "images.push";
  const input =
    t.kind === "pull" ? ImagePullInputSchema.parse(t.input) : ImagePushInputSchema.parse(t.input);
  const ref = "ref" in input ? input.ref : input.target;
  const params =
    "ref" in input
      ? { ref: input.ref, node: input.node }
      : { source: input.source, target: input.target, node: input.node };
  const audit = (result: "ok" | "error", error: string | null) =>
    deps.audit.record({
      actorId: actor.id,
      actorName: actor.username,
      teamId: actor.teamId,
      action,
      target: ref,
      params,
      result,
      error,
      address,
    });
  let node: NodeRefView;
  let credential: RegistryCredentialBody | undefined;
  let source = "source" in input ? input.source : undefined;
  try {
    node = deps.target(input.node);
    credential = deps.credentialFor(actor.teamId, registryOfReference(ref));
    if (source !== undefined && deps.source) source = await deps.source(node, source);
  } catch (e) {
    audit("error", e instanceof Error ? e.message : String(e));
    throw e;
  }
  const cred = credential === undefined ? {} : { credential };
  const ac = new AbortController();
  const onOuterAbort = () => ac.abort();
  signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (signal?.aborted) ac.abort();
  const chunks =
    "ref" in input
      ? deps.gateway.stream(node.id, "image.pull", { ref: input.ref, ...cred }, ac.signal)
      : deps.gateway.stream(
          node.id,
          "image.push",
          { source: source ?? input.source, target: input.target, ...cred },
          ac.signal,
        );
  let audited = false;
  try {
    for await (const c of chunks) {
      if (!audited) {
        audited = true;
        audit("ok", null);
      }
      if (c.digest !== undefined && "ref" in input) deps.pulled?.(node, input.ref, c.digest);
      yield c.digest !== undefined ? { ...c, nodeName: node.name } : c;
    }
  } catch (raw) {
    const e = registryAuthError(raw, registryOfReference(ref));
    if (!audited) audit("error", e instanceof Error ? e.message : String(e));
    audited = true;
    throw e;
  } finally {
    signal?.removeEventListener("abort", onOuterAbort);
    ac.abort();
    if (!audited) audit("ok", null);
  }
}
