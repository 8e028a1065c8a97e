/**
 * Test-only: an in-memory CommandHandler that records calls. It exists to test the protocol
 * client (dispatch, idempotency, streams, events); it does not run or pretend to run containers.
 */
import type { Readable } from "node:stream";
import {
  DomainError,
  type CommandParams,
  type LoadedImage,
  type ContainerStats,
  type ContainerStatus,
  type EventData,
  type EventName,
  type LogLine,
  type NodeFacts,
  type StreamInputSource,
} from "@berth/core";
import type { CommandHandler, EventListener } from "../command-handler";

export const TEST_FACTS: NodeFacts = {
  hostname: "test-host",
  kernel: "6.1.0",
  os: "Debian GNU/Linux 12",
  arch: "x64",
  cpus: 2,
  memoryBytes: 2 ** 31,
  cgroup: { version: 1, mode: "hybrid", parent: "/berth-test" },
  runtime: { name: "runc", version: "1.1.5", path: "/usr/sbin/runc" },
  monitor: { name: "conmon", version: "2.1.6" },
  agentVersion: "0.1.0",
};

export function statusOf(
  id: string,
  name: string,
  state: ContainerStatus["state"],
): ContainerStatus {
  return {
    id,
    name,
    state,
    pid: state === "running" ? 4242 : null,
    exitCode: null,
    oomKilled: false,
    error: null,
    createdAt: "2025-01-01T00:00:00.000Z",
    startedAt: null,
    finishedAt: null,
    restartCount: 0,
    health: null,
  };
}

export class RecordingHandler implements CommandHandler {
  readonly calls: { method: string; args: unknown }[] = [];
  readonly containers = new Map<string, ContainerStatus>();
  private readonly listeners = new Set<EventListener>();
  /** Each run waits on this before answering (lets tests overlap duplicate commands). */
  runGate: Promise<void> = Promise.resolve();
  /** The log stream's behaviour. */
  logsImpl: CommandHandler["logs"] = async () => {};
  /** The exec stream's behaviour. */
  execImpl: CommandHandler["exec"] = async () => ({ exitCode: 0 });

  async run(p: CommandParams<"container.run">): Promise<ContainerStatus> {
    this.calls.push({ method: "run", args: p });
    await this.runGate;
    if (this.containers.has(p.containerId))
      throw new DomainError("conflict", `container ${p.containerId} exists`);
    const st = statusOf(p.containerId, p.name, "running");
    this.containers.set(p.containerId, st);
    return st;
  }
  async stop(p: CommandParams<"container.stop">): Promise<ContainerStatus> {
    this.calls.push({ method: "stop", args: p });
    const st = this.containers.get(p.containerId);
    if (!st) throw new DomainError("not_found", `no container ${p.containerId}`);
    if (p.timeoutSeconds === 999) throw new Error("boom: not a domain error");
    const stopped = { ...st, state: "exited" as const, exitCode: 0, pid: null };
    this.containers.set(p.containerId, stopped);
    return stopped;
  }
  async create(p: CommandParams<"container.create">): Promise<ContainerStatus> {
    this.calls.push({ method: "create", args: p });
    const st = statusOf(p.containerId, p.name, "created");
    this.containers.set(p.containerId, st);
    return st;
  }
  private lifecycle(method: string, p: { containerId: string }, state: ContainerStatus["state"]) {
    this.calls.push({ method, args: p });
    const st = this.containers.get(p.containerId);
    if (!st) throw new DomainError("not_found", `no container ${p.containerId}`);
    const next = { ...st, state };
    this.containers.set(p.containerId, next);
    return Promise.resolve(next);
  }
  start(p: CommandParams<"container.start">): Promise<ContainerStatus> {
    return this.lifecycle("start", p, "running");
  }
  kill(p: CommandParams<"container.kill">): Promise<ContainerStatus> {
    return this.lifecycle("kill", p, "exited");
  }
  restart(p: CommandParams<"container.restart">): Promise<ContainerStatus> {
    return this.lifecycle("restart", p, "running");
  }
  pause(p: CommandParams<"container.pause">): Promise<ContainerStatus> {
    return this.lifecycle("pause", p, "paused");
  }
  unpause(p: CommandParams<"container.unpause">): Promise<ContainerStatus> {
    return this.lifecycle("unpause", p, "running");
  }
  commit(p: CommandParams<"container.commit">) {
    this.calls.push({ method: "commit", args: p });
    if (!this.containers.has(p.containerId))
      return Promise.reject(new DomainError("not_found", `no container ${p.containerId}`));
    return Promise.resolve({ digest: "sha256:" + "c".repeat(64), ref: p.ref ?? null });
  }
  rename(p: CommandParams<"container.rename">): Promise<ContainerStatus> {
    this.calls.push({ method: "rename", args: p });
    const st = this.containers.get(p.containerId);
    if (!st) throw new DomainError("not_found", `no container ${p.containerId}`);
    const next = { ...st, name: p.name };
    this.containers.set(p.containerId, next);
    return Promise.resolve(next);
  }
  async remove(p: CommandParams<"container.remove">): Promise<{ removed: boolean }> {
    this.calls.push({ method: "remove", args: p });
    return { removed: this.containers.delete(p.containerId) };
  }
  inspect(id: string): ContainerStatus {
    this.calls.push({ method: "inspect", args: id });
    const st = this.containers.get(id);
    if (!st) throw new DomainError("not_found", `no container ${id}`);
    return st;
  }
  async update(p: CommandParams<"container.update">): Promise<ContainerStatus> {
    this.calls.push({ method: "update", args: p });
    return this.inspect(p.containerId);
  }
  /** Echoes the call as a zero sample; protocol tests check dispatch and validation only. */
  async stats(id: string): Promise<ContainerStats> {
    this.calls.push({ method: "stats", args: id });
    const st = this.inspect(id);
    return {
      id: st.id,
      name: st.name,
      takenAt: 0,
      cpu: { totalNs: 0, systemNs: 0, onlineCpus: 1 },
      memory: { usageBytes: 0, limitBytes: null, cacheBytes: 0 },
      pids: { current: 0, limit: null },
      blkio: { readBytes: 0, writeBytes: 0 },
    };
  }
  list(): ContainerStatus[] {
    return [...this.containers.values()];
  }
  statsHistory(p: CommandParams<"stats.history">): { intervalMs: number; points: [] } {
    this.calls.push({ method: "statsHistory", args: p });
    return { intervalMs: 5000, points: [] };
  }
  logs(
    p: CommandParams<"container.logs">,
    signal: AbortSignal,
    onChunk: (lines: LogLine[]) => void | Promise<void>,
  ): Promise<void> {
    this.calls.push({ method: "logs", args: p });
    return this.logsImpl(p, signal, onChunk);
  }
  exec(
    p: CommandParams<"container.exec">,
    signal: AbortSignal,
    onChunk: (c: { stdout?: string; stderr?: string }) => void | Promise<void>,
    input?: StreamInputSource,
  ): Promise<{ exitCode: number | null }> {
    this.calls.push({ method: "exec", args: p });
    return this.execImpl(p, signal, onChunk, input);
  }
  /** The image.pull / image.push streams' behaviour. */
  transferImpl: CommandHandler["imagePull"] = async () => ({
    digest: `sha256:${"a".repeat(64)}`,
    ref: "docker.io/library/busybox:latest",
  });
  imagePull(
    p: CommandParams<"image.pull">,
    signal: AbortSignal,
    onChunk: Parameters<CommandHandler["imagePull"]>[2],
  ) {
    this.calls.push({ method: "imagePull", args: p });
    return this.transferImpl(p, signal, onChunk);
  }
  imagePush(
    p: CommandParams<"image.push">,
    signal: AbortSignal,
    onChunk: Parameters<CommandHandler["imagePush"]>[2],
  ) {
    this.calls.push({ method: "imagePush", args: p });
    return this.transferImpl({ ref: p.target }, signal, onChunk);
  }
  /** The image.save stream's behaviour. */
  saveImpl: CommandHandler["imageSave"] = async () => {};
  imageSave(
    p: CommandParams<"image.save">,
    signal: AbortSignal,
    onChunk: (data: Buffer) => Promise<void>,
  ) {
    this.calls.push({ method: "imageSave", args: p });
    return this.saveImpl(p, signal, onChunk);
  }
  /** The image.load / image.import streams' behaviour (default: read all, load nothing). */
  uploadImpl = async (input: Readable): Promise<{ loaded: LoadedImage[] }> => {
    for await (const _ of input) {
      // consumed
    }
    return { loaded: [] };
  };
  imageLoad(p: CommandParams<"image.load">, input: Readable) {
    this.calls.push({ method: "imageLoad", args: p });
    return this.uploadImpl(input);
  }
  imageImport(p: CommandParams<"image.import">, input: Readable) {
    this.calls.push({ method: "imageImport", args: p });
    return this.uploadImpl(input);
  }
  /** What `imageBuild` does with the context: consumes it, reports its size, builds nothing. */
  async imageBuild(
    p: CommandParams<"image.build">,
    input: Readable,
    onProgress: (line: string) => void,
  ) {
    this.calls.push({ method: "imageBuild", args: p });
    let bytes = 0;
    for await (const c of input) bytes += (c as Buffer).length;
    onProgress(`#1 context ${bytes} bytes`);
    return { digest: "sha256:" + "b".repeat(64), tags: p.tags, steps: [], warnings: [] };
  }
  async listImages() {
    this.calls.push({ method: "listImages", args: undefined });
    return [
      {
        ref: "busybox:latest",
        digest: "sha256:" + "a".repeat(64),
        size: 1234,
        createdAt: "2025-01-01T00:00:00Z",
      },
    ];
  }
  async volumeCreate(p: CommandParams<"volume.create">) {
    this.calls.push({ method: "volumeCreate", args: p });
    return { name: p.name, mountpoint: `/test/volumes/${p.name}/_data`, createdAt: "2025-01-01" };
  }
  async volumeInspect(p: CommandParams<"volume.inspect">): Promise<never> {
    this.calls.push({ method: "volumeInspect", args: p });
    throw new DomainError("not_found", `volume ${p.name} not found on this node`);
  }
  async volumeList() {
    this.calls.push({ method: "volumeList", args: undefined });
    return [];
  }
  async volumeRemove(p: CommandParams<"volume.remove">) {
    this.calls.push({ method: "volumeRemove", args: p });
    return { removed: true };
  }
  /** Networks: this fake has none (the engine's are tested in networking.integration.test.ts). */
  private noNetworks(method: string, args: unknown): never {
    this.calls.push({ method, args });
    throw new DomainError("unavailable", "networking is off on this agent");
  }
  async networkCreate(p: CommandParams<"network.create">): Promise<never> {
    return this.noNetworks("networkCreate", p);
  }
  async networkList() {
    this.calls.push({ method: "networkList", args: undefined });
    return { networks: [] };
  }
  async networkInspect(p: CommandParams<"network.inspect">): Promise<never> {
    return this.noNetworks("networkInspect", p);
  }
  async networkRemove(p: CommandParams<"network.remove">): Promise<never> {
    return this.noNetworks("networkRemove", p);
  }
  async networkConnect(p: CommandParams<"network.connect">): Promise<never> {
    return this.noNetworks("networkConnect", p);
  }
  async networkDisconnect(p: CommandParams<"network.disconnect">): Promise<never> {
    return this.noNetworks("networkDisconnect", p);
  }
  async networkEndpoints(p: CommandParams<"network.endpoints">) {
    this.calls.push({ method: "networkEndpoints", args: p });
    return { containers: [] };
  }
  async imageInspect(p: CommandParams<"image.inspect">) {
    this.calls.push({ method: "imageInspect", args: p });
    return {
      digest: "sha256:" + "a".repeat(64),
      refs: [p.ref],
      size: 1,
      created: null,
      architecture: "amd64",
      os: "linux",
      config: {},
      layers: [],
      history: [],
    };
  }
  async imageTag(p: CommandParams<"image.tag">) {
    this.calls.push({ method: "imageTag", args: p });
    return { digest: "sha256:" + "a".repeat(64) };
  }
  async imageRemove(p: CommandParams<"image.remove">) {
    this.calls.push({ method: "imageRemove", args: p });
    return { untagged: [p.ref], deleted: [] };
  }
  async imagePrune(p: CommandParams<"image.prune">) {
    this.calls.push({ method: "imagePrune", args: p });
    return { untagged: [], deleted: [], reclaimedBytes: 0 };
  }
  onEvent(cb: EventListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  emit<N extends EventName>(name: N, data: EventData<N>): void {
    for (const l of this.listeners) l(name, data);
  }
  async facts(): Promise<NodeFacts> {
    return TEST_FACTS;
  }
}
