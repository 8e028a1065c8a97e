/**
 * What the control layer needs from the engine. `ContainerService` (src/containers) satisfies it
 * structurally; main.ts passes the real service. Unit tests of control/ implement it with an
 * in-memory recorder to test the protocol client only.
 */
import type { Readable } from "node:stream";
import type {
  CommandParams,
  ImageBuildResult,
  LoadedImage,
  CommandResult,
  ContainerStats,
  ContainerStatus,
  EventData,
  EventName,
  ImageTransferChunk,
  LogLine,
  LogText,
  NodeFacts,
  StreamInputSource,
} from "@berth/core";

export type EventListener = <N extends EventName>(name: N, data: EventData<N>) => void;

export interface CommandHandler {
  run(p: CommandParams<"container.run">): Promise<ContainerStatus>;
  stop(p: CommandParams<"container.stop">): Promise<ContainerStatus>;
  /** Prepares a container without starting it (state `created`). */
  create(p: CommandParams<"container.create">): Promise<ContainerStatus>;
  start(p: CommandParams<"container.start">): Promise<ContainerStatus>;
  kill(p: CommandParams<"container.kill">): Promise<ContainerStatus>;
  restart(p: CommandParams<"container.restart">): Promise<ContainerStatus>;
  pause(p: CommandParams<"container.pause">): Promise<ContainerStatus>;
  unpause(p: CommandParams<"container.unpause">): Promise<ContainerStatus>;
  rename(p: CommandParams<"container.rename">): Promise<ContainerStatus>;
  /** `commit`: the container's read-write layer on its image becomes a new image. */
  commit(p: CommandParams<"container.commit">): Promise<CommandResult<"container.commit">>;
  remove(p: CommandParams<"container.remove">): Promise<{ removed: boolean }>;
  inspect(id: string): ContainerStatus;
  /** Changes a running container's limits; answers with its status. */
  update(p: CommandParams<"container.update">): Promise<ContainerStatus>;
  /** One sample of a running container's usage. */
  stats(id: string): Promise<ContainerStats>;
  /** The last hour of a container's (or, without containerId, the node's) stats. */
  statsHistory(p: CommandParams<"stats.history">): CommandResult<"stats.history">;
  list(): ContainerStatus[];
  /**
   * Streams log lines to `onChunk` until done (or `signal` aborts). `onChunk` returns a promise
   * that resolves once the chunk is queued below the socket's high-water mark: a producer that
   * awaits it gets back-pressure; one that does not is still correct (the client buffers, and
   * ends the stream with an error past a hard cap).
   */
  logs(
    p: CommandParams<"container.logs">,
    signal: AbortSignal,
    onChunk: (lines: LogLine[]) => void | Promise<void>,
  ): Promise<void>;
  /**
   * `container.logs` asked with `text` (and no times): the log as text batches (core
   * log-text.ts) instead of lines, back-pressured the same way. Optional: without it the
   * client answers such a request with packed lines.
   */
  logsText?(
    p: CommandParams<"container.logs">,
    signal: AbortSignal,
    onBatch: (batch: LogText) => void | Promise<void>,
  ): Promise<void>;
  /**
   * Runs one more process in a running container, passing its output chunks to `onChunk` until
   * it exits (resolves with its exit code) or `signal` aborts (kills it; exitCode null). With
   * `p.tty` / `p.interactive`, `input` carries stdin data, EOF and terminal resizes.
   */
  exec(
    p: CommandParams<"container.exec">,
    signal: AbortSignal,
    onChunk: (c: { stdout?: string; stderr?: string }) => void | Promise<void>,
    input?: StreamInputSource,
  ): Promise<{ exitCode: number | null }>;
  /**
   * `image.pull` / `image.push`: progress chunks to `onChunk` (batched), resolves with the
   * image's manifest digest and normalized reference; `signal` aborts the transfer.
   */
  imagePull(
    p: CommandParams<"image.pull">,
    signal: AbortSignal,
    onChunk: (c: ImageTransferChunk) => void | Promise<void>,
  ): Promise<{ digest: string; ref: string }>;
  imagePush(
    p: CommandParams<"image.push">,
    signal: AbortSignal,
    onChunk: (c: ImageTransferChunk) => void | Promise<void>,
  ): Promise<{ digest: string; ref: string }>;
  /**
   * `image.save`: the archive's bytes to `onChunk`, in order; awaiting it gives back-pressure.
   * Stops when `signal` aborts.
   */
  imageSave(
    p: CommandParams<"image.save">,
    signal: AbortSignal,
    onChunk: (data: Buffer) => Promise<void>,
  ): Promise<void>;
  /** `image.load`: reads an image archive from `input` (fed by the server's stream_input). */
  imageLoad(p: CommandParams<"image.load">, input: Readable): Promise<{ loaded: LoadedImage[] }>;
  /**
   * `build`: a Dockerfile build of the context tar read from `input`; `onProgress` gets the
   * lines docker's build output shows; `signal` aborts it.
   */
  imageBuild(
    p: CommandParams<"image.build">,
    input: Readable,
    onProgress: (line: string) => void,
    signal: AbortSignal,
  ): Promise<ImageBuildResult>;
  /** `image.import`: reads a rootfs tar from `input` and makes a one-layer image of it. */
  imageImport(
    p: CommandParams<"image.import">,
    input: Readable,
  ): Promise<{ loaded: LoadedImage[] }>;
  listImages(): Promise<CommandResult<"image.list">["images"]>;
  imageInspect(p: CommandParams<"image.inspect">): Promise<CommandResult<"image.inspect">>;
  imageTag(p: CommandParams<"image.tag">): Promise<CommandResult<"image.tag">>;
  imageRemove(p: CommandParams<"image.remove">): Promise<CommandResult<"image.remove">>;
  imagePrune(p: CommandParams<"image.prune">): Promise<CommandResult<"image.prune">>;
  volumeCreate(p: CommandParams<"volume.create">): Promise<CommandResult<"volume.create">>;
  volumeInspect(p: CommandParams<"volume.inspect">): Promise<CommandResult<"volume.inspect">>;
  volumeList(): Promise<CommandResult<"volume.list">["volumes"]>;
  volumeRemove(p: CommandParams<"volume.remove">): Promise<CommandResult<"volume.remove">>;
  networkCreate(p: CommandParams<"network.create">): Promise<CommandResult<"network.create">>;
  networkList(): Promise<CommandResult<"network.list">>;
  networkInspect(p: CommandParams<"network.inspect">): Promise<CommandResult<"network.inspect">>;
  networkRemove(p: CommandParams<"network.remove">): Promise<CommandResult<"network.remove">>;
  networkConnect(p: CommandParams<"network.connect">): Promise<CommandResult<"network.connect">>;
  networkDisconnect(
    p: CommandParams<"network.disconnect">,
  ): Promise<CommandResult<"network.disconnect">>;
  networkEndpoints(
    p: CommandParams<"network.endpoints">,
  ): Promise<CommandResult<"network.endpoints">>;
  onEvent(cb: EventListener): () => void;
  facts(): Promise<NodeFacts>;
}
