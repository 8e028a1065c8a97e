/**
 * `image.pull` / `image.push` for the control layer, and the pull that `run`/`create` do when the
 * node lacks an image: the registry client (registry/pull.ts, registry/push.ts) on the node's
 * image store, with progress batched for the stream.
 *
 * Credentials arrive with each command (the server keeps them per team) and live only as long
 * as the transfer: never stored, logged or echoed. Plain HTTP is decided by the registry client
 * alone (loopback hosts, or hosts in `insecureRegistries` given by the operator at start).
 */
import { createHash } from "node:crypto";
import {
  DomainError,
  type CommandParams,
  type ImageTransferChunk,
  type RegistryCredentialBody,
} from "@berth/core";
import type { ImageStore } from "./image-store";
import { parseReference } from "./reference";
import { pullImage, type TransferProgress } from "./registry/pull";
import { nodeRegistryCredential, type NodeIdentity } from "./registry/node-credential";
import { pushImage } from "./registry/push";

/** Progress chunks per stream at most this often, plus one at every status change. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Keeps the latest progress of each blob and flushes them in one chunk: immediately when a
 * blob's status changes, otherwise at most every `intervalMs`.
 */
export class ProgressBatcher {
  private readonly pending = new Map<string, TransferProgress>();
  private readonly statuses = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;

  constructor(
    private readonly emit: (progress: TransferProgress[]) => void,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  push(p: TransferProgress): void {
    this.pending.set(p.digest, p);
    const changed = this.statuses.get(p.digest) !== p.status;
    this.statuses.set(p.digest, p.status);
    if (changed) return this.flush();
    if (this.timer) return;
    const wait = Math.max(0, this.intervalMs - (Date.now() - this.lastFlush));
    this.timer = setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.lastFlush = Date.now();
    this.emit(batch);
  }

  /** Flushes what is left and stops the timer. */
  close(): void {
    this.flush();
  }
}

export interface ImageTransferOptions {
  /** Registries (`host[:port]`) the operator allows over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** The node's credential and server, for `{onBehalfOfTeam}` pulls from berth-server's registry. */
  nodeIdentity?: () => NodeIdentity | undefined;
}

type OnChunk = (c: ImageTransferChunk) => void | Promise<void>;

export class ImageTransfers {
  private readonly insecure: readonly string[];
  private readonly log: NonNullable<ImageTransferOptions["log"]>;
  /** One pull per reference and credential at a time: concurrent runs of a missing image share it. */
  private readonly pulls = new Map<string, Promise<{ digest: string; ref: string }>>();
  private readonly nodeIdentity: () => NodeIdentity | undefined;

  constructor(
    private readonly images: ImageStore,
    opts: ImageTransferOptions = {},
  ) {
    this.insecure = opts.insecureRegistries ?? [];
    this.log = opts.log ?? (() => undefined);
    this.nodeIdentity = opts.nodeIdentity ?? (() => undefined);
  }

  private clientOptions(credential: RegistryCredentialBody | undefined, ref: string) {
    if (credential !== undefined && "onBehalfOfTeam" in credential)
      return {
        credential: nodeRegistryCredential(
          parseReference(ref).domain,
          credential.onBehalfOfTeam,
          this.nodeIdentity(),
        ),
        insecureRegistries: this.insecure,
      };
    return { credential, insecureRegistries: this.insecure };
  }

  /** `image.pull`: downloads `ref` (verified), tags it, and answers its manifest digest. */
  async pull(
    p: CommandParams<"image.pull">,
    signal: AbortSignal,
    onChunk: OnChunk,
  ): Promise<{ digest: string; ref: string }> {
    const batcher = new ProgressBatcher((progress) => void onChunk({ progress }));
    try {
      const r = await pullImage(this.images.content, p.ref, {
        clientOptions: this.clientOptions(p.credential, p.ref),
        onProgress: (x) => batcher.push(x),
        signal,
      });
      batcher.close();
      await this.images.tag(p.ref, r.manifestDigest);
      this.log("image pulled", {
        ref: r.ref,
        digest: r.manifestDigest,
        bytes: r.bytesDownloaded,
      });
      return { digest: r.manifestDigest, ref: r.ref };
    } finally {
      batcher.close();
    }
  }

  /** `image.push`: uploads the local image `source` as `target`. */
  async push(
    p: CommandParams<"image.push">,
    signal: AbortSignal,
    onChunk: OnChunk,
  ): Promise<{ digest: string; ref: string }> {
    const image = await this.images.resolveAny(p.source);
    const target = parseReference(p.target);
    if (target.digest !== undefined)
      throw new DomainError("invalid_input", `push to a tag, not a digest: ${p.target}`);
    // A source of the same registry may let it mount the blobs instead of uploading them.
    const mountFrom: string[] = [];
    try {
      const src = parseReference(p.source);
      if (src.domain === target.domain && src.path !== target.path) mountFrom.push(src.path);
    } catch {
      // an image id: nothing to mount from
    }
    const batcher = new ProgressBatcher((progress) => void onChunk({ progress }));
    try {
      const r = await pushImage(this.images.content, p.target, {
        manifestDigest: image.digest,
        mountFrom,
        clientOptions: this.clientOptions(p.credential, p.target),
        onProgress: (x) => batcher.push(x),
        signal,
      });
      batcher.close();
      this.log("image pushed", { ref: r.ref, digest: r.digest, bytes: r.bytesUploaded });
      return { digest: r.digest, ref: r.ref };
    } finally {
      batcher.close();
    }
  }

  /**
   * The pull `run`/`create` do for an image the node lacks. Progress goes to the agent's log
   * (about every 2 s and at each layer's end), not to the caller: the run command is unary.
   */
  pullMissing(
    ref: string,
    credential: RegistryCredentialBody | undefined,
    signal?: AbortSignal,
  ): Promise<{ digest: string; ref: string }> {
    // Shared only by runs with the same credential: one without must not fail one with.
    const key = `${ref}\n${createHash("sha256")
      .update(JSON.stringify(credential ?? null))
      .digest("hex")}`;
    const inflight = this.pulls.get(key);
    if (inflight) return inflight;
    let lastLog = 0;
    const started = Date.now();
    this.log("pulling a missing image", { ref });
    const p = this.pull(
      { ref, ...(credential === undefined ? {} : { credential }) },
      signal ?? new AbortController().signal,
      ({ progress }) => {
        const now = Date.now();
        const finished = progress?.some((x) => x.status === "done" && x.kind === "layer");
        if (!finished && now - lastLog < 2000) return;
        lastLog = now;
        for (const x of progress ?? [])
          this.log("pull progress", {
            ref,
            digest: x.digest,
            kind: x.kind,
            status: x.status,
            done: x.done,
            total: x.total,
          });
      },
    )
      .then((r) => {
        this.log("missing image pulled", { ref, ms: Date.now() - started });
        return r;
      })
      .finally(() => this.pulls.delete(key));
    this.pulls.set(key, p);
    return p;
  }
}
