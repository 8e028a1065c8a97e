/**
 * What the control layer needs from the engine. `ContainerService` (src/containers) satisfies it
 * structurally; main.ts passes the real service. Unit tests of control/ implement it with an
 * in-memory recorder to test the protocol client only.
 */
import type {
  CommandParams,
  CommandResult,
  ContainerStats,
  ContainerStatus,
  EventData,
  EventName,
  LogLine,
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
  remove(p: CommandParams<"container.remove">): Promise<{ removed: boolean }>;
  inspect(id: string): ContainerStatus;
  /** Changes a running container's limits; answers with its status. */
  update(p: CommandParams<"container.update">): Promise<ContainerStatus>;
  /** One sample of a running container's usage. */
  stats(id: string): Promise<ContainerStats>;
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
  listImages(): Promise<CommandResult<"image.list">["images"]>;
  imageInspect(p: CommandParams<"image.inspect">): Promise<CommandResult<"image.inspect">>;
  imageTag(p: CommandParams<"image.tag">): Promise<CommandResult<"image.tag">>;
  imageRemove(p: CommandParams<"image.remove">): Promise<CommandResult<"image.remove">>;
  imagePrune(p: CommandParams<"image.prune">): Promise<CommandResult<"image.prune">>;
  volumeCreate(p: CommandParams<"volume.create">): Promise<CommandResult<"volume.create">>;
  volumeInspect(p: CommandParams<"volume.inspect">): Promise<CommandResult<"volume.inspect">>;
  volumeList(): Promise<CommandResult<"volume.list">["volumes"]>;
  volumeRemove(p: CommandParams<"volume.remove">): Promise<CommandResult<"volume.remove">>;
  onEvent(cb: EventListener): () => void;
  facts(): Promise<NodeFacts>;
}
