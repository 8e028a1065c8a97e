/**
 * `save`, `load` and `image import`: archive bytes relayed between an HTTP client and a node.
 *
 * save: `image.save` chunks (base64) are decoded and handed to the caller one by one; each MiB
 * the caller has passed on is acknowledged (`stream_input {ack}`), and the agent stays within
 * IMAGE_SAVE_WINDOW_BYTES of the last ack — a slow HTTP client slows the node down.
 * load / import: the request body goes to the agent as `stream_input` frames of at most
 * MAX_STREAM_INPUT_BYTES; the agent acknowledges with `{received}` chunks and the relay never
 * has more than IMAGE_UPLOAD_WINDOW_BYTES unacknowledged, so a slow node slows the upload down
 * instead of filling the server's memory. The last chunk carries `{loaded}`.
 */
import {
  DomainError,
  IMAGE_UPLOAD_ACK_BYTES as IMAGE_SAVE_ACK_BYTES,
  IMAGE_UPLOAD_WINDOW_BYTES,
  MAX_STREAM_INPUT_BYTES,
  type ImageBuildChunk,
  type ImageBuildParams,
  type ImageBuildResult,
  type ImageChanges,
  type ImageUploadChunk,
  type LoadedImage,
} from "@berth/core";
import type { Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { NodeTargets, type NodeRefView } from "../nodes/node-target";

type UploadChunk = ImageUploadChunk & ImageBuildChunk;

export interface LoadResultView {
  nodeId: string;
  nodeName: string;
  loaded: LoadedImage[];
}

export class ImageArchivesService {
  private readonly nodes: NodeTargets;

  constructor(
    db: Db,
    private readonly gateway: AgentGateway,
  ) {
    this.nodes = new NodeTargets(db, gateway);
  }

  /** The node a save/load/import goes to (named, or the only online one). */
  target(nodeRef: string | undefined): NodeRefView {
    return this.nodes.target(nodeRef, "holds the image");
  }

  /** `save`: the archive's bytes, in order. Leaving the loop early cancels the node's side. */
  async *save(node: NodeRefView, refs: string[], signal?: AbortSignal): AsyncGenerator<Buffer> {
    let streamId: string | undefined;
    let consumed = 0;
    let acked = 0;
    const chunks = this.gateway.stream(node.id, "image.save", { refs }, signal, {
      onOpen: (id) => (streamId = id),
    });
    for await (const chunk of chunks) {
      const data = Buffer.from(chunk.data, "base64");
      // Resumed once the caller has passed `data` on: acknowledge it (the agent's window).
      yield data;
      consumed += data.length;
      if (streamId !== undefined && consumed - acked >= IMAGE_SAVE_ACK_BYTES) {
        acked = consumed;
        try {
          this.gateway.streamInput(node.id, streamId, { ack: consumed });
        } catch {
          // the stream just ended: nothing left to acknowledge
        }
      }
    }
  }

  /** `load`: sends the archive `body` to the node, which verifies it, stores and tags it. */
  async load(
    node: NodeRefView,
    body: AsyncIterable<Buffer>,
    signal?: AbortSignal,
  ): Promise<LoadResultView> {
    const loaded = await this.upload(node, "image.load", {}, body, signal, (c) => c.loaded);
    return { nodeId: node.id, nodeName: node.name, loaded };
  }

  /**
   * `build`: sends the context tar `body` to the node, which builds the Dockerfile in it;
   * `onProgress` gets each line of the build's output as it comes.
   */
  async build(
    node: NodeRefView,
    params: ImageBuildParams,
    body: AsyncIterable<Buffer>,
    onProgress: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<ImageBuildResult & { nodeId: string; nodeName: string }> {
    const built = await this.upload(
      node,
      "image.build",
      params,
      body,
      signal,
      (c) => c.built,
      onProgress,
    );
    return { ...built, nodeId: node.id, nodeName: node.name };
  }

  /** `image import`: sends a rootfs tar, which becomes the one-layer image `ref`. */
  async import(
    node: NodeRefView,
    ref: string,
    changes: ImageChanges | undefined,
    body: AsyncIterable<Buffer>,
    signal?: AbortSignal,
  ): Promise<LoadResultView> {
    const loaded = await this.upload(
      node,
      "image.import",
      changes ? { ref, changes } : { ref },
      body,
      signal,
      (c) => c.loaded,
    );
    return { nodeId: node.id, nodeName: node.name, loaded };
  }

  /**
   * Relays `body` to an upload command of the node (`stream_input` within the window); `pick`
   * finds the result in a chunk, `onProgress` gets build output lines.
   */
  private async upload<R>(
    node: NodeRefView,
    name: "image.load" | "image.import" | "image.build",
    params: Record<string, unknown>,
    body: AsyncIterable<Buffer>,
    signal: AbortSignal | undefined,
    pick: (c: UploadChunk) => R | undefined,
    onProgress?: (line: string) => void,
  ): Promise<R> {
    let streamId: string | undefined;
    let acked = 0;
    let result: R | undefined;
    let ended = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    // Aborted when the caller's signal is, or when the body fails: cancels the node's side.
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const onOpen = (id: string) => (streamId = id);
    // One relay for the three upload commands; their chunks share `received` (UploadChunk).
    const stream = this.gateway.stream(node.id, name as "image.load", params as never, ac.signal, {
      onOpen,
    }) as AsyncIterable<UploadChunk>;
    // Started now: its first step sends the command (and sets streamId) synchronously.
    const consumed = (async () => {
      try {
        for await (const c of stream) {
          if (c.received !== undefined) acked = Math.max(acked, c.received);
          if (c.progress !== undefined) onProgress?.(c.progress);
          const r = pick(c);
          if (r !== undefined) result = r;
          notify();
        }
      } finally {
        ended = true;
        notify();
      }
    })();
    consumed.catch(() => undefined);

    let sent = 0;
    try {
      for await (const chunk of body) {
        for (let i = 0; i < chunk.length; i += MAX_STREAM_INPUT_BYTES) {
          const part = chunk.subarray(i, i + MAX_STREAM_INPUT_BYTES);
          while (!ended && sent - acked > IMAGE_UPLOAD_WINDOW_BYTES - part.length)
            await new Promise<void>((r) => (wake = r));
          if (ended || streamId === undefined) break;
          this.gateway.streamInput(node.id, streamId, { data: part.toString("base64") });
          sent += part.length;
        }
        if (ended) break;
      }
      if (!ended && streamId !== undefined)
        this.gateway.streamInput(node.id, streamId, { eof: true });
    } catch (e) {
      // The node ended the stream (an error of its own explains it better), or the body failed.
      if (!ended) {
        ac.abort();
        throw e;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    await consumed;
    if (result === undefined)
      throw new DomainError(
        "unavailable",
        `node ${node.name} ended the ${name.slice("image.".length)} without a result`,
      );
    return result;
  }
}
