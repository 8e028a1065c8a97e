/**
 * ContainerService: the agent's container engine. It turns a `container.run` into an overlay
 * rootfs + OCI bundle and its network (networking.ts: netns, veth, address, ports, names), has
 * conmon run `runc create`, runs `runc start`, and follows each container to its exit through
 * conmon's exit file (fs.watch on the exits dir, with a poll as a safety net). State lives on
 * disk per container, so a restarted agent adopts what is still running and records what
 * exited while it was down.
 */
import { watch, type FSWatcher } from "node:fs";
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import {
  ContainerLimitsSchema,
  ContainerSpecSchema,
  DomainError,
  conflict,
  isDomainError,
  notFound,
  type CommandParams,
  type CommandResult,
  type ContainerSpec,
  type ContainerState,
  type ContainerStats,
  type ContainerStatus,
  type EventData,
  type EventName,
  type ImageBuildResult,
  type ImageTransferChunk,
  type LoadedImage,
  type LogLine,
  type LogText,
  type NodeFacts,
  type RuntimeInfo,
  type StreamInputSource,
} from "@berth/core";
import { detectCgroups } from "../cgroups/detect";
import { driverFor, type AppliedLimits, type CgroupDriver } from "../cgroups/cgroup-driver";
import { readSystemCpu, validateLimits } from "../cgroups/limits";
import { collectFacts } from "../facts/facts";
import { importRootfs, loadArchive, saveImages } from "../images/archive";
import { ImageStore } from "../images/image-store";
import { ImageTransfers } from "../images/transfer";
import { ConmonMonitor, readExitFile } from "../monitor/conmon";
import { lineFilter, readLog } from "../monitor/k8s-log";
import { readLogText } from "../monitor/k8s-log-text";
import { RotatingLog } from "../monitor/log-rotation";
import { StatsHistoryRecorder } from "./stats-history";
import type { OciRuntime } from "../runtime/oci-runtime";
import type { RuntimeName } from "../runtime/runtime-probe";
import { selectRuntime } from "../runtime/select-runtime";
import { readCgroupCounters, readVethCounters } from "../usage/usage-counters";
import type { UsageCounters } from "../usage/usage-sampler";
import {
  buildSpec,
  withAnnotations,
  withCgroupsPath,
  withDefaultMounts,
  withHostname,
  withLimits,
  withNamespaces,
  withProcess,
  withRlimits,
  withRootfs,
} from "../runtime/spec/spec-opts";
import { limitsToResources } from "../runtime/spec/resources";
import { withDevices } from "../runtime/spec/devices";
import {
  capabilitiesFromMask,
  checkWorkingDir,
  resolveSecurity,
  resolveTmpfs,
  withSecurity,
  withTmpfs,
} from "../runtime/spec/security";
import { isErrno, writeFileAtomic } from "../sys/fs";
import { mountOverlay, readMountInfo, unmount } from "../sys/mount";
import {
  ContainerRecordSchema,
  containerPaths,
  toStatus,
  type ContainerPaths,
  type ContainerRecord,
} from "./container-record";
import { wasOomKilled } from "./oom";
import {
  UsernsAllocator,
  effectiveUserns,
  prepareUsernsDirs,
  withUserns,
  type UsernsRange,
} from "./userns";
import {
  VolumeStore,
  namespacesFor,
  precheckMounts,
  resolveMounts,
  withMounts,
  type VolumeInfo,
} from "./mounts";
import { effectiveHealthcheck, findExecutable, processConfig, resolveUser } from "./process-config";
import { nextBackoffMs, shouldRestart } from "./restart-policy";
import { HEALTH_OUTPUT_MAX, HealthCheck, initialHealth, type Prober } from "./health-check";
import { resolveDevices } from "./devices";
import { runtimeExec } from "../runtime/runtime-exec";
import { runtimeExecStream, type ExecChunk } from "../runtime/runtime-exec-stream";
import { runtimeExecTty } from "../runtime/runtime-exec-tty";
import { execProcess } from "./exec";
import { commitContainer } from "../images/commit";
import { readCredential } from "../control/credentials";
import {
  Builder,
  type BuildIo,
  type BuildOptionsInput,
  type BuildProgress,
  type BuildResult,
} from "../images/build/builder";
import { assertAction, transition } from "./state-machine";
import {
  ContainerNetworking,
  networkModeOf,
  withNetwork,
  type PreparedNetwork,
} from "./networking";
import { isKill, signalName, stopSignalOf } from "./signals";

export interface ContainerServiceDeps {
  stateDir: string;
  runtimePath?: string;
  /** runc (default) or crun; when absent, read from runtimePath's basename. */
  runtimeName?: RuntimeName;
  conmonPath?: string;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Registries pulled from / pushed to over plain HTTP besides loopback ones (operator's list). */
  insecureRegistries?: readonly string[];
  /**
   * Bridge networking (containers/networking.ts): the interface/chain prefix (`berth` for a
   * real agent; tests use their own). Absent: no networking, every container gets a private
   * network namespace with loopback only (what `--network none` gives).
   */
  network?: { prefix: string; defaultSubnet?: string; dns?: boolean };
  /**
   * Called when an exit is recorded, before the cgroup is released, with the run's last
   * counters (null when they cannot be read): the final usage sample. Set at create, so exits
   * found while adopting after an agent restart are sampled too.
   */
  onExitRecorded?: ExitHook;
}

/** See ContainerServiceDeps.onExitRecorded. */
export type ExitHook = (status: ContainerStatus, counters: UsageCounters | null) => void;

type EventCallback = <N extends EventName>(name: N, data: EventData<N>) => void;

interface Entry {
  rec: ContainerRecord;
  paths: ContainerPaths;
  /** Serializes mutations of one container. */
  lock: Promise<unknown>;
  finalizing: boolean;
  exited: Promise<void>;
  markExited: () => void;
  /** A restart the restart policy scheduled, and its current backoff delay. */
  restartTimer?: NodeJS.Timeout | undefined;
  backoffMs?: number;
}

const AGENT_VERSION = "0.1.0";
const EXIT_POLL_MS = 1000;
/** Stats history sampling interval: 720 points make the hour. */
const STATS_INTERVAL_MS = 5000;
const LIVE: ReadonlySet<ContainerState> = new Set(["created", "running", "paused", "stopping"]);

function newEntry(rec: ContainerRecord, paths: ContainerPaths): Entry {
  let markExited!: () => void;
  const exited = new Promise<void>((r) => (markExited = r));
  return { rec, paths, lock: Promise.resolve(), finalizing: false, exited, markExited };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The capabilities the agent holds in its bounding set, so it can give them to containers. */
async function grantableCapabilities(): Promise<string[]> {
  const status = await readFile("/proc/self/status", "utf8");
  const mask = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!mask) throw new Error("cannot read CapBnd from /proc/self/status");
  return capabilitiesFromMask(mask);
}

/** Counters of every interface of a container, summed (stats' NET I/O). */
function sumCounters(
  c: { rxBytes: number; txBytes: number; rxPackets: number; txPackets: number }[],
) {
  return c.reduce(
    (a, x) => ({
      rxBytes: a.rxBytes + x.rxBytes,
      txBytes: a.txBytes + x.txBytes,
      rxPackets: a.rxPackets + x.rxPackets,
      txPackets: a.txPackets + x.txPackets,
    }),
    { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 },
  );
}

function pidAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, "EPERM");
  }
}

export class ContainerService {
  private readonly entries = new Map<string, Entry>();
  private readonly creating = new Map<string, Promise<ContainerStatus>>();
  private readonly listeners = new Set<EventCallback>();
  private readonly healthChecks = new Map<string, HealthCheck>();
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly exitsDir: string;
  private readonly socketsDir: string;
  /** Named volumes (`<stateDir>/volumes`). */
  private readonly volumes: VolumeStore;
  /** Subordinate id ranges of `--userns=auto` containers (`<stateDir>/userns.json`). */
  private userns!: UsernsAllocator;
  private readonly log: NonNullable<ContainerServiceDeps["log"]>;
  /** Every OCI runtime probed at start (NodeFacts.runtimes). */
  private runtimes: RuntimeInfo[] = [];
  /** Each container's log files and their rotation (monitor/log-rotation.ts), by id. */
  private readonly logFiles = new Map<string, Promise<RotatingLog>>();
  /** Registry pulls and pushes (images/transfer.ts). */
  private readonly transfers: ImageTransfers;
  /** Dockerfile builds (images/build/builder.ts); its cache is a GC root of the image store. */
  private builder!: Builder;
  /** Bridges, addresses, ports and names (containers/networking.ts); absent when disabled. */
  private net: ContainerNetworking | undefined;
  /** The last hour of stats of the node and each container (stats-history.ts). */
  private readonly history = new StatsHistoryRecorder(this, STATS_INTERVAL_MS, undefined, (e) =>
    this.log("stats history sample failed", { error: String(e) }),
  );
  /** The final usage sample at exit (ContainerServiceDeps.onExitRecorded). */
  private exitHook: ExitHook | undefined;

  private constructor(
    private readonly stateDir: string,
    private readonly images: ImageStore,
    private readonly runtime: OciRuntime,
    private readonly monitor: ConmonMonitor,
    private readonly cgroups: CgroupDriver,
    log: ContainerServiceDeps["log"],
    insecureRegistries: readonly string[] = [],
  ) {
    this.exitsDir = join(stateDir, "exits");
    this.socketsDir = join(stateDir, "sockets");
    this.volumes = new VolumeStore(stateDir);
    this.log = log ?? (() => undefined);
    this.transfers = new ImageTransfers(images, {
      log: this.log,
      insecureRegistries,
      // berth-server's own registry is pulled from with the node credential (read when needed:
      // it is stored after the engine starts and may be rotated).
      nodeIdentity: () => readCredential(stateDir),
    });
  }

  /** Detects cgroups, seeds busybox, adopts the containers already on disk. */
  static async create(deps: ContainerServiceDeps): Promise<ContainerService> {
    const stateDir = deps.stateDir;
    await Promise.all(
      ["containers", "exits", "sockets"].map((d) =>
        mkdir(join(stateDir, d), { recursive: true, mode: 0o700 }),
      ),
    );
    const layout = await detectCgroups();
    const { runtime, runtimes } = await selectRuntime({
      name: deps.runtimeName,
      path: deps.runtimePath,
      stateDir,
      cgroupMode: layout.mode,
    });
    const cgroups = driverFor(layout, runtime);
    await cgroups.prepare();
    const monitor = new ConmonMonitor(deps.conmonPath ?? "/usr/bin/conmon", runtime);
    const images = await ImageStore.open(stateDir);
    await images.ensureBusybox();
    const svc = new ContainerService(
      stateDir,
      images,
      runtime,
      monitor,
      cgroups,
      deps.log,
      deps.insecureRegistries,
    );
    svc.exitHook = deps.onExitRecorded;
    svc.userns = await UsernsAllocator.open(stateDir);
    svc.runtimes = runtimes;
    svc.builder = await Builder.open({
      stateDir,
      images,
      cgroups,
      ...(runtime.name === "runc" ? { runcPath: runtime.path } : {}),
    });
    if (deps.network)
      svc.net = await ContainerNetworking.open({
        stateDir,
        ...deps.network,
        log: (msg, extra) => svc.log(msg, { component: "network", ...extra }),
      });
    await svc.adopt();
    svc.startWatching();
    svc.history.start();
    return svc;
  }

  // ---------------------------------------------------------------- events

  onEvent(cb: EventCallback): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private emit<N extends EventName>(name: N, data: EventData<N>): void {
    // Healthchecks follow the lifecycle, whichever path started or ended the process. No probe
    // runs while the container is paused (docker's rule); unpausing resumes from the health it had.
    if (
      name === "container.started" ||
      name === "container.exited" ||
      name === "container.paused" ||
      name === "container.unpaused"
    ) {
      const e = this.entries.get((data as ContainerStatus).id);
      if (e && name === "container.started") this.startHealthcheck(e);
      else if (e && name === "container.unpaused") this.startHealthcheck(e, true);
      else this.stopHealthcheck((data as ContainerStatus).id);
    }
    for (const cb of this.listeners) {
      try {
        cb(name, data);
      } catch (e) {
        this.log("event listener failed", { event: name, error: (e as Error).message });
      }
    }
  }

  // ---------------------------------------------------------------- queries

  inspect(id: string): ContainerStatus {
    const e = this.entries.get(id);
    if (!e) throw notFound(`container ${id.slice(0, 12)} not found on this node`, { id });
    return toStatus(e.rec);
  }

  list(): ContainerStatus[] {
    return [...this.entries.values()].map((e) => toStatus(e.rec));
  }

  /** `image.pull` (a stream command): progress chunks, then the result. */
  imagePull(
    p: CommandParams<"image.pull">,
    signal: AbortSignal,
    onChunk: (c: ImageTransferChunk) => void | Promise<void>,
  ): Promise<{ digest: string; ref: string }> {
    return this.transfers.pull(p, signal, onChunk);
  }

  /** `image.push` (a stream command): progress chunks, then the result. */
  imagePush(
    p: CommandParams<"image.push">,
    signal: AbortSignal,
    onChunk: (c: ImageTransferChunk) => void | Promise<void>,
  ): Promise<{ digest: string; ref: string }> {
    return this.transfers.push(p, signal, onChunk);
  }

  /** `image.save` (a stream command): the OCI archive's bytes, with back-pressure. */
  async imageSave(
    p: CommandParams<"image.save">,
    signal: AbortSignal,
    onChunk: (data: Buffer) => Promise<void>,
  ): Promise<void> {
    const archive = await saveImages(this.images, p.refs);
    try {
      for await (const chunk of archive) {
        if (signal.aborted) return;
        await onChunk(chunk as Buffer);
      }
    } finally {
      archive.destroy();
    }
  }

  /** `image.load`: an OCI layout archive or docker-archive, verified before anything is tagged. */
  /** `image.build`: the context tar comes from the server (imageLoad's upload path). */
  async imageBuild(
    p: CommandParams<"image.build">,
    input: Readable,
    onProgress: (line: string) => void,
    // The builder has no cancellation yet: an abort ends the upload, which fails the build.
    _signal: AbortSignal,
  ): Promise<ImageBuildResult> {
    const r = await this.build(
      {
        dockerfile: p.dockerfile,
        tags: p.tags,
        buildArgs: p.buildArgs,
        allowHostNetwork: p.allowHostNetwork,
        ...(p.target === undefined ? {} : { target: p.target }),
      },
      (ev) => onProgress(ev.message),
      // Only the images the building team may use (the server's list; absent: any).
      { contextTar: input, images: p.images === undefined ? undefined : new Set(p.images) },
    );
    return { digest: r.digest, tags: r.tags, steps: r.steps, warnings: r.warnings };
  }

  imageLoad(_p: CommandParams<"image.load">, input: Readable): Promise<{ loaded: LoadedImage[] }> {
    return loadArchive(this.images, input);
  }

  /** `image import`: a rootfs tar becomes a one-layer image. */
  async imageImport(
    p: CommandParams<"image.import">,
    input: Readable,
  ): Promise<{ loaded: LoadedImage[] }> {
    const r = await importRootfs(this.images, input, p.ref, { changes: p.changes ?? {} });
    return { loaded: [r] };
  }

  async listImages(): Promise<CommandResult<"image.list">["images"]> {
    return this.images.list();
  }

  /** Digests of the images this node's containers were created from, with their short ids. */
  private imagesInUse(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const e of this.entries.values())
      out.set(e.rec.imageDigest, [...(out.get(e.rec.imageDigest) ?? []), e.rec.id.slice(0, 12)]);
    return out;
  }

  /**
   * Builds an image from a Dockerfile (images/build/builder.ts). `io.contextTar` carries an
   * uploaded context; FROM/COPY --from images the node lacks are pulled (anonymously unless
   * `io.pull` is given).
   */
  build(
    opts: BuildOptionsInput,
    onProgress?: (p: BuildProgress) => void,
    io: BuildIo = {},
  ): Promise<BuildResult> {
    return this.builder.build(opts, onProgress, {
      pull: async (ref) =>
        void (await this.transfers.pull({ ref }, new AbortController().signal, () => undefined)),
      ...io,
    });
  }

  imageInspect(p: CommandParams<"image.inspect">): Promise<CommandResult<"image.inspect">> {
    return this.images.inspect(p.ref);
  }

  async imageTag(p: CommandParams<"image.tag">): Promise<CommandResult<"image.tag">> {
    return { digest: await this.images.tagImage(p.source, p.target) };
  }

  imageRemove(p: CommandParams<"image.remove">): Promise<CommandResult<"image.remove">> {
    return this.images.removeImage(p.ref, {
      force: p.force,
      inUse: this.imagesInUse(),
      keep: new Set(p.keep ?? []),
    });
  }

  imagePrune(p: CommandParams<"image.prune">): Promise<CommandResult<"image.prune">> {
    return this.images.prune({
      all: p.all,
      inUse: new Set(this.imagesInUse().keys()),
      keep: new Set(p.keep ?? []),
    });
  }

  async facts(): Promise<NodeFacts> {
    const [runtimeVersion, monitorVersion] = await Promise.all([
      this.runtime.version(),
      this.monitor.version(),
    ]);
    return collectFacts({
      cgroup: {
        version: this.cgroups.layout.version,
        mode: this.cgroups.layout.mode,
        parent: this.cgroups.parent,
      },
      runtime: { name: this.runtime.name, version: runtimeVersion, path: this.runtime.path },
      monitor: { name: "conmon", version: monitorVersion },
      agentVersion: AGENT_VERSION,
      runtimes: this.runtimes,
    });
  }

  /** Test and diagnostics helper: the container's cgroup limits as the kernel reports them. */
  async readLimits(id: string): Promise<{
    memoryBytes: number | null;
    pidsMax: number | null;
    paths: Record<string, string>;
  }> {
    this.inspect(id);
    const [memoryBytes, pidsMax] = await Promise.all([
      this.cgroups.readMemoryLimit(id),
      this.cgroups.readPidsMax(id),
    ]);
    return { memoryBytes, pidsMax, paths: this.cgroups.containerPaths(id) };
  }

  /** Every limit of a container as its cgroup files report it (for tools and tests). */
  async appliedLimits(id: string): Promise<AppliedLimits> {
    this.inspect(id);
    return this.cgroups.readLimits(id);
  }

  // ---------------------------------------------------------------- update / stats

  /**
   * Changes a running container's limits: merges them into its spec, validates the result as
   * `run` does, applies it with `runc update`, then stores the new spec. Nothing is stored when
   * validation or runc fails.
   */
  async update(p: CommandParams<"container.update">): Promise<ContainerStatus> {
    const e = this.running(p.containerId, "update");
    return this.locked(e, async () => {
      if (e.rec.state !== "running")
        throw new DomainError(
          "invalid_state",
          `cannot update container ${e.rec.id.slice(0, 12)}: it is ${e.rec.state}`,
        );
      const merged = ContainerLimitsSchema.parse({ ...e.rec.spec.limits, ...p.limits });
      validateLimits(merged, await this.cgroups.hostCpusets());
      const resources = limitsToResources(merged, {
        blkioWeight: await this.cgroups.supportsBlkioWeight(),
        warn: (msg) => this.log(msg, { id: e.rec.id }),
      });
      await this.cgroups.update(e.rec.id, resources);
      e.rec.spec = { ...e.rec.spec, limits: merged };
      await this.save(e.rec);
      return toStatus(e.rec);
    });
  }

  /** One sample of a running container's usage (cgroup files + /proc/stat). */
  async stats(id: string): Promise<ContainerStats> {
    const e = this.running(id, "read the stats of");
    const [cg, sys] = await Promise.all([this.cgroups.readStats(id), readSystemCpu()]);
    return {
      id: e.rec.id,
      name: e.rec.name,
      takenAt: Date.now(),
      cpu: { totalNs: cg.cpuTotalNs, systemNs: sys.systemNs, onlineCpus: sys.onlineCpus },
      memory: {
        usageBytes: cg.memoryUsageBytes,
        limitBytes: cg.memoryLimitBytes,
        cacheBytes: cg.memoryCacheBytes,
      },
      pids: { current: cg.pidsCurrent, limit: cg.pidsLimit },
      blkio: { readBytes: cg.blkioReadBytes, writeBytes: cg.blkioWriteBytes },
      ...(this.net ? { net: sumCounters(await this.net.counters(id)) } : {}),
    };
  }

  /**
   * Raw counters for usage accounting (usage/usage-sampler.ts): the cgroup files and the veths.
   * Works on an exited container until its cgroup is released (the final sample).
   */
  usageCounters(id: string): Promise<UsageCounters> {
    if (!this.entries.has(id)) throw notFound(`container ${id.slice(0, 12)} not found`, { id });
    return Promise.resolve({
      ...readCgroupCounters(id, this.cgroups.containerPaths(id)),
      ...readVethCounters(this.net?.hostVeths(id) ?? []),
    });
  }

  /** `stats.history`: the last hour of a container's or the node's stats. */
  statsHistory(p: CommandParams<"stats.history">): CommandResult<"stats.history"> {
    if (p.containerId !== undefined && !this.entries.has(p.containerId))
      throw notFound(`container ${p.containerId.slice(0, 12)} not found on this node`, {
        id: p.containerId,
      });
    return this.history.history(p);
  }

  private running(id: string, action: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw notFound(`container ${id.slice(0, 12)} not found on this node`, { id });
    if (e.rec.state !== "running" && e.rec.state !== "paused")
      throw new DomainError(
        "invalid_state",
        `cannot ${action} container ${id.slice(0, 12)}: it is ${e.rec.state}`,
      );
    return e;
  }

  /** The on-disk layout of a container (for tools and tests). */
  pathsOf(id: string): ContainerPaths {
    return containerPaths(this.stateDir, id);
  }

  // ---------------------------------------------------------------- network

  /** The container's network (networking.ts); undefined when the agent has networking off. */
  private async prepareNetwork(
    id: string,
    name: string,
    hostname: string,
    spec: ContainerSpec,
    dir: string,
  ): Promise<PreparedNetwork | undefined> {
    if (!this.net) {
      const mode = networkModeOf(spec);
      if (mode !== "bridge" && mode !== "none")
        throw new DomainError("unavailable", `--network ${mode}: networking is off on this agent`);
      if (spec.ports?.length || spec.publishAll)
        throw new DomainError("unavailable", "-p: networking is off on this agent");
      return undefined;
    }
    return this.net.prepare({
      id,
      name,
      hostname,
      spec,
      dir,
      resolveContainer: (ref) => {
        const e =
          this.entries.get(ref) ??
          [...this.entries.values()].find((x) => x.rec.name === ref) ??
          (ref.length >= 4
            ? [...this.entries.values()].find((x) => x.rec.id.startsWith(ref))
            : undefined);
        if (!e) throw notFound(`container ${ref} not found on this node`);
        if (e.rec.state !== "running" && e.rec.state !== "paused")
          throw new DomainError("invalid_state", `container ${ref} is not running`);
        return e.rec.id;
      },
    });
  }

  async networkCreate(
    p: CommandParams<"network.create">,
  ): Promise<CommandResult<"network.create">> {
    const net = this.networking();
    return net.describe(await net.createNetwork(p));
  }

  async networkList(): Promise<CommandResult<"network.list">> {
    if (!this.net) return { networks: [] };
    const net = this.net;
    return { networks: net.list().map((n) => net.describe(n)) };
  }

  async networkInspect(
    p: CommandParams<"network.inspect">,
  ): Promise<CommandResult<"network.inspect">> {
    const net = this.networking();
    return net.describe(net.get(p.network));
  }

  async networkRemove(
    p: CommandParams<"network.remove">,
  ): Promise<CommandResult<"network.remove">> {
    await this.networking().removeNetwork(p.network);
    return { removed: true };
  }

  /** `network connect`: one more interface in a live container's own netns. */
  async networkConnect(p: CommandParams<"network.connect">): Promise<ContainerStatus> {
    const net = this.networking();
    const e = this.entryOf(p.containerId);
    return this.locked(e, async () => {
      if (!LIVE.has(e.rec.state))
        throw new DomainError(
          "invalid_state",
          `container ${e.rec.id.slice(0, 12)} is ${e.rec.state}: start it to connect it`,
        );
      await net.connect({
        id: e.rec.id,
        name: e.rec.name,
        network: p.network,
        aliases: p.aliases,
        ...(p.ip !== undefined ? { ip: p.ip } : {}),
      });
      e.rec.network = net.status(e.rec.id, e.rec.spec);
      await this.save(e.rec);
      return toStatus(e.rec);
    });
  }

  async networkDisconnect(p: CommandParams<"network.disconnect">): Promise<ContainerStatus> {
    const net = this.networking();
    const e = this.entryOf(p.containerId);
    return this.locked(e, async () => {
      await net.disconnect(e.rec.id, p.network);
      e.rec.network = net.status(e.rec.id, e.rec.spec);
      await this.save(e.rec);
      return toStatus(e.rec);
    });
  }

  /** Live network facts of one container (not_found) or of every container on this node. */
  async networkEndpoints(
    p: CommandParams<"network.endpoints">,
  ): Promise<CommandResult<"network.endpoints">> {
    const net = this.net;
    if (!net) return { containers: [] };
    const entries =
      p.containerId !== undefined ? [this.entryOf(p.containerId)] : [...this.entries.values()];
    return {
      containers: entries.map((e) => ({
        containerId: e.rec.id,
        network: net.status(e.rec.id, e.rec.spec),
      })),
    };
  }

  /** The engine's networking, for the network commands; a clear error when it is off. */
  networking(): ContainerNetworking {
    if (!this.net) throw new DomainError("unavailable", "networking is off on this agent");
    return this.net;
  }

  // ---------------------------------------------------------------- run

  run(p: CommandParams<"container.run">): Promise<ContainerStatus> {
    const known = this.entries.get(p.containerId);
    if (known) return Promise.resolve(toStatus(known.rec));
    const inflight = this.creating.get(p.containerId);
    if (inflight) return inflight;
    const leases: (() => void)[] = [];
    const started = this.doRun(p, true, leases).finally(() => {
      this.creating.delete(p.containerId);
      for (const release of leases) release();
    });
    this.creating.set(p.containerId, started);
    return started;
  }

  /**
   * `run` without the start: the rootfs, bundle and runtime container (its process waits in
   * `runc init`) exist, state `created`, until `start`. Kept as created across agent restarts.
   */
  create(p: CommandParams<"container.create">): Promise<ContainerStatus> {
    const known = this.entries.get(p.containerId);
    if (known) return Promise.resolve(toStatus(known.rec));
    const inflight = this.creating.get(p.containerId);
    if (inflight) return inflight;
    const leases: (() => void)[] = [];
    const created = this.doRun(p, false, leases).finally(() => {
      this.creating.delete(p.containerId);
      for (const release of leases) release();
    });
    this.creating.set(p.containerId, created);
    return created;
  }

  /**
   * The image of a run/create; pulled first when the node lacks it and the command carries
   * `pull` (the server always sends it; without it a missing image stays not_found).
   */
  private async resolveOrPull(
    ref: string,
    pull: CommandParams<"container.run">["pull"],
  ): Promise<Awaited<ReturnType<ImageStore["resolve"]>>> {
    try {
      return await this.images.resolve(ref);
    } catch (e) {
      if (pull === undefined || !isDomainError(e) || e.kind !== "not_found") throw e;
    }
    await this.transfers.pullMissing(ref, pull.credential);
    return this.images.resolve(ref);
  }

  /** `leases`: what to release once the run is over (the image's lease against the GC). */
  private async doRun(
    p: CommandParams<"container.run">,
    start: boolean,
    leases: (() => void)[],
  ): Promise<ContainerStatus> {
    if (this.closed) throw new DomainError("unavailable", "the container service is closed");
    const spec = ContainerSpecSchema.parse(p.spec);
    validateLimits(spec.limits, await this.cgroups.hostCpusets());
    if (spec.workingDir !== undefined) checkWorkingDir(spec.workingDir);
    const security = resolveSecurity(spec.security, {
      knownCapabilities: await grantableCapabilities(),
    });
    const tmpfs = resolveTmpfs(spec.tmpfs);
    const namespaces = namespacesFor(spec.namespaces, spec.hostname);
    const usernsMode = effectiveUserns(spec);
    await precheckMounts(spec.mounts ?? [], this.stateDir);
    const devices = await resolveDevices(spec.devices ?? []);
    const blkioWeight = await this.cgroups.supportsBlkioWeight();
    for (const e of this.entries.values()) {
      if (e.rec.name === p.name)
        throw conflict(
          `the container name "${p.name}" is already in use by ${e.rec.id.slice(0, 12)}`,
        );
    }
    const image = await this.resolveOrPull(spec.image, p.pull);
    leases.push(this.images.lease(image.digest));
    const lowerDirs = await this.images.prepareLayers(image);
    const id = p.containerId;
    const paths = containerPaths(this.stateDir, id);
    const hostname = spec.hostname ?? id.slice(0, 12);
    const proc = processConfig(spec, image.config, hostname);
    checkWorkingDir(proc.cwd);
    if (security.privileged)
      this.log("FLAGGED: running a privileged container (all capabilities, no seccomp)", {
        id: p.containerId,
        name: p.name,
      });

    try {
      await mkdir(paths.dir, { mode: 0o700 });
    } catch (e) {
      if (isErrno(e, "EEXIST"))
        throw conflict(`container ${id.slice(0, 12)} already has state on disk`);
      throw e;
    }
    let entry: Entry | undefined;
    let releaseRun!: () => void;
    const runDone = new Promise<void>((r) => (releaseRun = r));
    try {
      await Promise.all(
        [paths.bundle, paths.upper, paths.work, paths.rootfs].map((d) => mkdir(d, { mode: 0o755 })),
      );
      let userns: UsernsRange | undefined;
      if (usernsMode === "auto") {
        userns = await this.userns.allocate(id);
        await prepareUsernsDirs(this.stateDir, paths, userns);
      }
      // The network (netns, veth, address, files) is built while the overlay mounts.
      const [mounted, wired] = await Promise.allSettled([
        mountOverlay({
          lowerDirs,
          upperDir: paths.upper,
          workDir: paths.work,
          target: paths.rootfs,
        }),
        this.prepareNetwork(id, p.name, hostname, spec, paths.dir),
      ]);
      if (mounted.status === "rejected") throw mounted.reason;
      if (wired.status === "rejected") throw wired.reason;
      const network = wired.value;
      await findExecutable(paths.rootfs, proc.args[0]!, proc.env, proc.cwd);
      const user = await resolveUser(paths.rootfs, proc.user);
      const mounts = await resolveMounts(spec.mounts ?? [], {
        stateDir: this.stateDir,
        rootfs: paths.rootfs,
        volumes: this.volumes,
      });

      const ociSpec = buildSpec(
        withProcess({
          args: proc.args,
          env: proc.env,
          cwd: proc.cwd,
          uid: user.uid,
          gid: user.gid,
        }),
        withRootfs(paths.rootfs),
        ...(namespaces.includes("uts") ? [withHostname(hostname)] : []),
        withNamespaces(
          ...(network?.netnsPath === null ? namespaces.filter((n) => n !== "network") : namespaces),
        ),
        withRlimits(),
        withDefaultMounts(),
        withLimits(spec.limits, {
          blkioWeight,
          warn: (msg) => this.log(msg, { id }),
        }),
        withSecurity(security),
        withDevices(devices),
        withTmpfs(tmpfs),
        withMounts(mounts),
        ...(network ? [withNetwork(network)] : []),
        ...(userns ? [withUserns(userns)] : []),
        withCgroupsPath(this.cgroups.cgroupsPath(id)),
        withAnnotations({ "io.berth.container.name": p.name, "io.berth.image": image.ref }),
      );
      await writeFileAtomic(paths.config, JSON.stringify(ociSpec));

      const now = new Date().toISOString();
      const rec: ContainerRecord = {
        version: 1,
        id,
        name: p.name,
        spec,
        autoRemove: p.autoRemove,
        imageDigest: image.digest,
        state: "created",
        pid: null,
        conmonPid: null,
        exitCode: null,
        oomKilled: false,
        error: null,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
        restartCount: 0,
        userStopped: false,
        health: null,
        createOnly: !start,
        stopSignal: stopSignalOf(image.config, (msg) => this.log(msg, { id })),
        healthcheck: effectiveHealthcheck(spec, image.config, (msg) => this.log(msg, { id })),
      };
      entry = newEntry(rec, paths);
      // Held until `run` returns: an exit seen meanwhile is recorded after the start.
      entry.lock = runDone;
      await this.save(rec);

      const mon = await this.monitor.create({
        id,
        name: p.name,
        bundle: paths.bundle,
        pidFile: paths.pidFile,
        conmonPidFile: paths.conmonPidFile,
        logPath: paths.log,
        exitDir: this.exitsDir,
        socketDir: this.socketsDir,
        persistDir: paths.dir,
      });
      rec.pid = mon.pid;
      rec.conmonPid = mon.conmonPid;
      this.entries.set(id, entry);
      if (network && this.net) {
        await this.net.publish(id, spec, image.config.config?.ExposedPorts);
        rec.network = this.net.status(id, spec);
      }
      if (start) {
        const startedAt = new Date().toISOString();
        await this.runtime.start(id);
        rec.state = transition(rec.state, "running", { id, action: "start" });
        rec.startedAt = startedAt;
      }
      await this.save(rec);
    } catch (e) {
      this.entries.delete(id);
      releaseRun();
      await this.discard(id, paths).catch((c: unknown) =>
        this.log("cleanup after a failed run failed", { id, error: (c as Error).message }),
      );
      await this.cleanupCgroups(1);
      throw e;
    }
    void this.logFilesOf(entry).catch(() => undefined);
    const status = toStatus(entry.rec);
    if (start) this.emit("container.started", status);
    else this.emit("container.created", status);
    releaseRun();
    // It may have exited already (`true`): look now rather than wait for the watcher.
    void this.checkExit(id);
    return status;
  }

  // ---------------------------------------------------------------- exit

  private startWatching(): void {
    try {
      this.watcher = watch(this.exitsDir, { persistent: false }, (_ev, file) => {
        if (file && this.entries.has(String(file))) void this.checkExit(String(file));
      });
      this.watcher.on("error", (e) =>
        this.log("exit watcher failed; polling continues", { error: e.message }),
      );
    } catch (e) {
      this.log("cannot watch the exits dir; polling only", { error: (e as Error).message });
    }
    this.poller = setInterval(() => {
      for (const e of this.entries.values())
        if (LIVE.has(e.rec.state) && e.rec.pid) void this.checkExit(e.rec.id);
    }, EXIT_POLL_MS);
    this.poller.unref();
  }

  private async checkExit(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e || e.finalizing || !LIVE.has(e.rec.state)) return;
    const code = await readExitFile(e.paths.exitFile).catch(() => null);
    if (code === null || e.finalizing) return;
    e.finalizing = true;
    await this.locked(e, () => this.recordExit(e, code)).catch((err: unknown) =>
      this.log("recording an exit failed", { id, error: (err as Error).message }),
    );
  }

  private async recordExit(
    e: Entry,
    code: number | null,
    error: string | null = null,
  ): Promise<void> {
    const rec = e.rec;
    if (!LIVE.has(rec.state)) return;
    const exitStat = await stat(e.paths.exitFile).catch(() => undefined);
    // Before `runc delete`, which removes the memory cgroup and its OOM counter.
    const oom = await wasOomKilled(
      join(e.paths.dir, "oom"),
      this.cgroups.containerPaths(rec.id),
    ).catch((x: unknown) => {
      this.log("cannot tell whether the container was OOM-killed", {
        id: rec.id,
        error: String(x),
      });
      return false;
    });
    const next = transition(rec.state, "exited", { id: rec.id, action: "record the exit of" });
    // Published ports go with the process (Docker does the same); the address stays.
    if (this.net && rec.network) {
      await this.net
        .unpublish(rec.id)
        .catch((x: unknown) =>
          this.log("unpublishing ports failed", { id: rec.id, error: String(x) }),
        );
    }
    // Persist first, then make it visible in memory and emit with no await in between, so
    // whoever sees "exited" (inspect, list) also sees the event and the saved record.
    const exited: ContainerRecord = {
      ...rec,
      state: next,
      exitCode: code,
      oomKilled: oom,
      error,
      finishedAt: (exitStat?.mtime ?? new Date()).toISOString(),
      pid: null,
      ...(this.net && rec.network ? { network: this.net.status(rec.id, rec.spec) } : {}),
    };
    await this.save(exited);
    Object.assign(rec, exited);
    this.emit("container.exited", toStatus(rec));
    // The last usage sample of this run, while the cgroup's counters are still readable.
    if (this.exitHook) {
      let counters: UsageCounters | null = null;
      try {
        counters = await this.usageCounters(rec.id);
      } catch (x) {
        this.log("cannot read the final usage counters", { id: rec.id, error: String(x) });
      }
      try {
        this.exitHook(toStatus(rec), counters);
      } catch (x) {
        this.log("final usage sample failed", { id: rec.id, error: String(x) });
      }
    }
    // The process is gone: free the runtime's state and cgroups, and the rootfs mount. This
    // runs after the event (the exit is not delayed by two more process spawns) but still under
    // the container's lock, so whatever comes next (start, restart, rm) and `wait` (which
    // resolves on markExited) find it released. The rw layer (upper/) stays until remove; after
    // a crash in between, adoption releases what is left (releaseExited).
    await this.releaseExited(e);
    e.markExited();
    this.scheduleRestart(e, "exit");
    if (rec.autoRemove) {
      void this.removeEntry(e).catch((x: unknown) =>
        this.log("auto-remove failed", { id: rec.id, error: String(x) }),
      );
    }
  }

  private async releaseExited(e: Entry): Promise<void> {
    const id = e.rec.id;
    await this.net
      ?.unpublish(id)
      .catch((x: unknown) => this.log("unpublishing ports failed", { id, error: String(x) }));
    // `delete` of a container the runtime no longer knows is a no-op.
    await this.runtime
      .delete(id, true)
      .catch((x: unknown) => this.log("runc delete failed", { id, error: String(x) }));
    await unmount(e.paths.rootfs).catch((x: unknown) =>
      this.log("unmount failed", { id, error: String(x) }),
    );
  }

  private waitExited(e: Entry, ms: number): Promise<boolean> {
    return Promise.race([e.exited.then(() => true), sleep(ms).then(() => false)]);
  }

  // ---------------------------------------------------------------- stop / remove

  async stop(p: CommandParams<"container.stop">): Promise<ContainerStatus> {
    const e = this.entries.get(p.containerId);
    if (!e)
      throw notFound(`container ${p.containerId.slice(0, 12)} not found on this node`, {
        id: p.containerId,
      });
    if (await this.holdRestarts(e)) return toStatus(e.rec);
    await this.locked(e, async () => {
      // It exited on its own meanwhile: the stop still holds off the restart policy.
      if (e.rec.state === "exited") return this.markUserStopped(e);
      if (e.rec.state === "stopping") return;
      const wasPaused = e.rec.state === "paused";
      e.rec.state = transition(e.rec.state, "stopping", { id: e.rec.id, action: "stop" });
      e.rec.userStopped = true;
      await this.save(e.rec);
      await this.runtime.kill(e.rec.id, e.rec.stopSignal ?? "SIGTERM");
      // A frozen process only sees the signal once thawed.
      if (wasPaused) await this.cgroups.thaw(e.rec.id);
    });
    await this.killAfter(e, p.timeoutSeconds * 1000);
    return toStatus(e.rec);
  }

  /** Waits `graceMs` for the exit, then SIGKILLs and waits for the exit to be recorded. */
  private async killAfter(e: Entry, graceMs: number): Promise<void> {
    void this.checkExit(e.rec.id);
    if (await this.waitExited(e, graceMs)) return;
    await this.runtime.kill(e.rec.id, "SIGKILL", true);
    for (let i = 0; i < 300; i++) {
      void this.checkExit(e.rec.id);
      if (await this.waitExited(e, 100)) return;
    }
    throw new DomainError(
      "timeout",
      `container ${e.rec.id.slice(0, 12)} did not exit after SIGKILL`,
    );
  }

  async remove(p: CommandParams<"container.remove">): Promise<{ removed: boolean }> {
    const e = this.entries.get(p.containerId);
    clearTimeout(e?.restartTimer);
    if (!e) {
      const inflight = this.creating.get(p.containerId);
      if (!inflight) return { removed: false };
      await inflight.catch(() => undefined);
      return this.remove(p);
    }
    if (LIVE.has(e.rec.state)) {
      // A created container has run nothing yet: docker removes it without force.
      if (!p.force && e.rec.state !== "created") {
        throw new DomainError(
          "invalid_state",
          `cannot remove container ${e.rec.id.slice(0, 12)}: it is ${e.rec.state}; stop it first or use force`,
        );
      }
      const wasPaused = await this.locked(e, async () => {
        const paused = e.rec.state === "paused";
        if (e.rec.state === "running" || e.rec.state === "created" || paused) {
          e.rec.state = transition(e.rec.state, "stopping", { id: e.rec.id, action: "stop" });
          await this.save(e.rec);
        }
        return paused;
      });
      await this.runtime.kill(e.rec.id, "SIGKILL", true);
      // A frozen process dies only once thawed.
      if (wasPaused) await this.cgroups.thaw(e.rec.id).catch(() => undefined);
      await this.killAfter(e, 0);
    }
    await this.removeEntry(e);
    return { removed: true };
  }

  private async removeEntry(e: Entry): Promise<void> {
    await this.locked(e, async () => {
      if (!this.entries.has(e.rec.id)) return;
      e.rec.state = transition(e.rec.state, "removing", { id: e.rec.id, action: "remove" });
      await this.save(e.rec).catch(() => undefined);
      await this.closeLogFiles(e.rec.id);
      try {
        await this.discard(e.rec.id, e.paths);
      } catch (err) {
        e.rec.state = "dead";
        e.rec.error = `removal failed: ${(err as Error).message}`;
        await this.save(e.rec).catch(() => undefined);
        throw err;
      }
      this.entries.delete(e.rec.id);
      this.emit("container.removed", { id: e.rec.id });
      await this.cleanupCgroups();
    });
  }

  /** Deletes everything a container has on this node: runtime state, mount, cgroups, files. */
  private async discard(id: string, paths: ContainerPaths): Promise<void> {
    await this.runtime.delete(id, true);
    await this.net?.release(id);
    await unmount(paths.rootfs);
    await this.cgroups.removeContainer(id);
    await rm(paths.dir, { recursive: true, force: true });
    await rm(paths.exitFile, { force: true });
    await this.userns.release(id);
    await rm(join(this.socketsDir, id.slice(0, 12)), { recursive: true, force: true });
  }

  /** Removes the empty `berth` parent groups once this node has no container left. */
  private async cleanupCgroups(inflight = 0): Promise<void> {
    if (this.entries.size > 0 || this.creating.size > inflight) return;
    await this.cgroups
      .cleanup()
      .catch((e: unknown) => this.log("cgroup cleanup failed", { error: (e as Error).message }));
  }

  // ---------------------------------------------------------------- volumes

  /** Creates a named volume (idempotent). */
  volumeCreate(p: { name: string }): Promise<VolumeInfo> {
    return this.volumes.create(p.name);
  }

  volumeInspect(p: { name: string }): Promise<VolumeInfo> {
    return this.volumes.inspect(p.name);
  }

  volumeList(): Promise<VolumeInfo[]> {
    return this.volumes.list();
  }

  /** Removes a named volume; refused while any container on this node (in any state) mounts it. */
  async volumeRemove(p: { name: string }): Promise<{ removed: boolean }> {
    const usedBy = [...this.entries.values()]
      .filter((e) =>
        (e.rec.spec.mounts ?? []).some((m) => m.type === "volume" && m.source === p.name),
      )
      .map((e) => e.rec.id);
    await this.volumes.remove(p.name, usedBy);
    return { removed: true };
  }

  // ---------------------------------------------------------------- lifecycle verbs

  private entryOf(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw notFound(`container ${id.slice(0, 12)} not found on this node`, { id });
    return e;
  }

  /** Starts a created container (`runc start`) or an exited one again on its kept rw layer. */
  async start(p: CommandParams<"container.start">): Promise<ContainerStatus> {
    const e = this.entryOf(p.containerId);
    const status = await this.locked(e, async () => {
      const rec = e.rec;
      assertAction("start", rec.state, rec.id);
      clearTimeout(e.restartTimer);
      e.restartTimer = undefined;
      if (rec.state === "exited") {
        await this.restartExited(e);
        // A user start, not a policy restart: docker resets the count and the backoff.
        rec.restartCount = 0;
        e.backoffMs = 0;
        await this.save(rec);
        return toStatus(rec);
      }
      const startedAt = new Date().toISOString();
      await this.runtime.start(rec.id);
      rec.state = transition(rec.state, "running", { id: rec.id, action: "start" });
      rec.startedAt = startedAt;
      rec.userStopped = false;
      await this.save(rec);
      const st = toStatus(rec);
      this.emit("container.started", st);
      return st;
    });
    void this.checkExit(e.rec.id);
    return status;
  }

  /** Sends a signal to the container's init process (a paused one gets it once unpaused). */
  async kill(p: CommandParams<"container.kill">): Promise<ContainerStatus> {
    const e = this.entryOf(p.containerId);
    const sig = signalName(p.signal);
    await this.locked(e, async () => {
      assertAction("kill", e.rec.state, e.rec.id);
      await this.runtime.kill(e.rec.id, sig);
      if (isKill(sig) && e.rec.state === "paused") await this.cgroups.thaw(e.rec.id);
    });
    if (isKill(sig)) {
      void this.checkExit(e.rec.id);
      await this.waitExited(e, 10_000);
    }
    return toStatus(e.rec);
  }

  /** Stops a live container (stop signal, then SIGKILL after the timeout) and starts it again. */
  async restart(p: CommandParams<"container.restart">): Promise<ContainerStatus> {
    const e = this.entryOf(p.containerId);
    assertAction("restart", e.rec.state, e.rec.id);
    if (e.rec.state !== "created" && e.rec.state !== "exited")
      await this.stop({ containerId: p.containerId, timeoutSeconds: p.timeoutSeconds });
    return this.start({ containerId: p.containerId });
  }

  /** Freezes every process of the container through the cgroup freezer. */
  pause(p: CommandParams<"container.pause">): Promise<ContainerStatus> {
    return this.setFrozen(p.containerId, true);
  }

  unpause(p: CommandParams<"container.unpause">): Promise<ContainerStatus> {
    return this.setFrozen(p.containerId, false);
  }

  private setFrozen(containerId: string, frozen: boolean): Promise<ContainerStatus> {
    const e = this.entryOf(containerId);
    const action = frozen ? "pause" : "unpause";
    return this.locked(e, async () => {
      assertAction(action, e.rec.state, e.rec.id);
      await (frozen ? this.cgroups.freeze(e.rec.id) : this.cgroups.thaw(e.rec.id));
      e.rec.state = transition(e.rec.state, frozen ? "paused" : "running", {
        id: e.rec.id,
        action,
      });
      await this.save(e.rec);
      const st = toStatus(e.rec);
      this.emit(frozen ? "container.paused" : "container.unpaused", st);
      return st;
    });
  }

  /** Changes the container's name on this node (unique per node, as the server's are global). */
  async rename(p: CommandParams<"container.rename">): Promise<ContainerStatus> {
    const e = this.entryOf(p.containerId);
    return this.locked(e, async () => {
      assertAction("rename", e.rec.state, e.rec.id);
      for (const other of this.entries.values()) {
        if (other !== e && other.rec.name === p.name)
          throw conflict(
            `the container name "${p.name}" is already in use by ${other.rec.id.slice(0, 12)}`,
          );
      }
      e.rec.name = p.name;
      await this.save(e.rec);
      return toStatus(e.rec);
    });
  }

  /**
   * `commit`: the container's read-write layer on the image it was created from becomes a new
   * image (images/commit.ts). A running container is frozen while its layer is read, unless
   * `pause` is false (docker's `--pause`).
   */
  async commit(p: CommandParams<"container.commit">): Promise<CommandResult<"container.commit">> {
    const e = this.entryOf(p.containerId);
    return this.locked(e, async () => {
      if (effectiveUserns(e.rec.spec) === "auto")
        throw new DomainError(
          "invalid_state",
          `cannot commit ${e.rec.id.slice(0, 12)}: with --userns=auto its files are owned by its mapped ids (not supported yet)`,
        );
      if (e.rec.state === "removing" || e.rec.state === "creating")
        throw new DomainError(
          "invalid_state",
          `cannot commit ${e.rec.id.slice(0, 12)}: it is ${e.rec.state}`,
        );
      const freeze = p.pause && e.rec.state === "running";
      if (freeze) await this.cgroups.freeze(e.rec.id);
      try {
        return await commitContainer(this.images, {
          upper: e.paths.upper,
          tmpDir: join(this.stateDir, "images"),
          base: await this.images.resolveAny(e.rec.imageDigest),
          ref: p.ref,
          changes: p.changes,
          comment: p.comment,
          author: p.author,
          createdBy: `berth commit ${e.rec.name}`,
        });
      } finally {
        if (freeze) await this.cgroups.thaw(e.rec.id);
      }
    });
  }

  /** The freezer's view of the container (`FROZEN`, `THAWED`…), for tools and tests. */
  async freezerState(id: string): Promise<string | null> {
    const dir = this.cgroups.containerPaths(this.entryOf(id).rec.id)["freezer"];
    if (!dir) return null;
    return (await readFile(join(dir, "freezer.state"), "utf8")).trim();
  }

  // ---------------------------------------------------------------- logs

  async logs(
    p: CommandParams<"container.logs">,
    signal: AbortSignal,
    /** Awaited when it returns a promise: back-pressure on the read. */
    onChunk: (lines: LogLine[]) => unknown,
  ): Promise<void> {
    const { files, read } = await this.logRead(p, signal);
    await readLog(files, { ...read, filter: lineFilter(p.stream, p.grep) ?? undefined }, onChunk);
  }

  /** `container.logs` with `text`: the log as text batches (monitor/k8s-log-text.ts). */
  async logsText(
    p: CommandParams<"container.logs">,
    signal: AbortSignal,
    /** Awaited when it returns a promise: back-pressure on the read. */
    onBatch: (batch: LogText) => unknown,
  ): Promise<void> {
    const { files, read } = await this.logRead(p, signal);
    await readLogText(
      files,
      {
        ...read,
        // The stream is checked on the bytes; only a search needs a LogLine per record.
        stream: p.stream,
        filter: lineFilter(undefined, p.grep) ?? undefined,
      },
      onBatch,
    );
  }

  /** The container's log files and the read options both log readers share. */
  private async logRead(p: CommandParams<"container.logs">, signal: AbortSignal) {
    const e = this.entries.get(p.containerId);
    if (!e)
      throw notFound(`container ${p.containerId.slice(0, 12)} not found on this node`, {
        id: p.containerId,
      });
    return {
      files: await this.logFilesOf(e),
      read: {
        tail: p.tail,
        follow: p.follow,
        signal,
        isDone: () => !LIVE.has(e.rec.state),
        done: e.exited,
        since: p.since,
        until: p.until,
      },
    };
  }

  // ---------------------------------------------------------------- exec

  /** Runs one more process in a running container, streaming its output (exec.ts). */
  async exec(
    p: CommandParams<"container.exec">,
    signal: AbortSignal,
    onChunk: (c: ExecChunk) => void | Promise<void>,
    input?: StreamInputSource,
  ): Promise<{ exitCode: number | null }> {
    const e = this.entries.get(p.containerId);
    const short = p.containerId.slice(0, 12);
    if (!e) throw notFound(`container ${short} not found on this node`, { id: p.containerId });
    if (e.rec.state === "paused")
      throw new DomainError(
        "invalid_state",
        `container ${short} is paused, unpause the container before exec`,
      );
    if (e.rec.state !== "running")
      throw new DomainError("invalid_state", `container ${short} is not running`);
    const proc = await execProcess(e.paths.config, e.paths.rootfs, p);
    if (p.tty)
      return runtimeExecTty(this.runtime, e.rec.id, proc, signal, onChunk, {
        interactive: p.interactive === true,
        ...(p.size ? { size: p.size } : {}),
        ...(input ? { input } : {}),
      });
    return runtimeExecStream(this.runtime, e.rec.id, proc, signal, onChunk, {
      detach: p.detach,
      ...(p.interactive && input ? { input } : {}),
    });
  }

  // ---------------------------------------------------------------- restart policy

  /**
   * Applies the container's restart policy (restart-policy.ts) to an exited container: schedules
   * a restart after the backoff delay (none at agent start).
   */
  private scheduleRestart(e: Entry, trigger: "exit" | "agent-start"): void {
    const rec = e.rec;
    if (this.closed || rec.autoRemove || rec.state !== "exited") return;
    const decide = () =>
      shouldRestart({
        policy: rec.spec.restartPolicy,
        exitCode: rec.exitCode,
        restartCount: rec.restartCount,
        userStopped: rec.userStopped,
        trigger,
      });
    if (!decide()) return;
    const ranMs =
      rec.startedAt && rec.finishedAt ? Date.parse(rec.finishedAt) - Date.parse(rec.startedAt) : 0;
    const delay = trigger === "exit" ? nextBackoffMs(e.backoffMs ?? 0, ranMs) : 0;
    e.backoffMs = delay;
    clearTimeout(e.restartTimer);
    e.restartTimer = setTimeout(() => {
      e.restartTimer = undefined;
      void this.locked(e, async () => {
        if (this.closed || !this.entries.has(rec.id) || rec.state !== "exited" || !decide()) return;
        await this.restartExited(e);
      }).catch((err: unknown) =>
        this.log("restarting a container failed", { id: rec.id, error: (err as Error).message }),
      );
    }, delay);
  }

  /** Cancels a pending restart and marks a user stop; true when the container stays exited. */
  private async holdRestarts(e: Entry): Promise<boolean> {
    if (e.rec.state !== "exited") return false;
    return this.locked(e, async () => {
      if (e.rec.state !== "exited") return false; // a restart got there first: stop it
      await this.markUserStopped(e);
      return true;
    });
  }

  /** A user stop of an exited container: cancels a pending restart (under the entry's lock). */
  private async markUserStopped(e: Entry): Promise<void> {
    clearTimeout(e.restartTimer);
    e.restartTimer = undefined;
    if (e.rec.userStopped) return;
    e.rec.userStopped = true;
    await this.save(e.rec);
  }

  /** Starts an exited container's process again on its kept rw layer (under the entry's lock). */
  private async restartExited(e: Entry): Promise<void> {
    const rec = e.rec;
    const paths = e.paths;
    // The image the container was created from, by digest, as docker does: retagging or
    // untagging (`rmi -f`) its name does not change what a restart runs.
    const image = await this.images.resolveAny(rec.imageDigest);
    const lowerDirs = await this.images.prepareLayers(image);
    await Promise.all(
      [paths.exitFile, paths.pidFile, paths.conmonPidFile, join(paths.dir, "oom")].map((f) =>
        rm(f, { force: true }),
      ),
    );
    await mountOverlay({
      lowerDirs,
      upperDir: paths.upper,
      workDir: paths.work,
      target: paths.rootfs,
    });
    let startedAt: string;
    try {
      const mon = await this.monitor.create({
        id: rec.id,
        name: rec.name,
        bundle: paths.bundle,
        pidFile: paths.pidFile,
        conmonPidFile: paths.conmonPidFile,
        logPath: paths.log,
        exitDir: this.exitsDir,
        socketDir: this.socketsDir,
        persistDir: paths.dir,
      });
      rec.pid = mon.pid;
      rec.conmonPid = mon.conmonPid;
      if (this.net && rec.network) {
        const image = await this.images.resolveAny(rec.imageDigest);
        await this.net.publish(rec.id, rec.spec, image.config.config?.ExposedPorts);
        rec.network = this.net.status(rec.id, rec.spec);
      }
      startedAt = new Date().toISOString();
      await this.runtime.start(rec.id);
    } catch (err) {
      await this.runtime.delete(rec.id, true).catch(() => undefined);
      await this.net?.unpublish(rec.id).catch(() => undefined);
      await unmount(paths.rootfs).catch(() => undefined);
      rec.pid = null;
      rec.error = `restart failed: ${(err as Error).message}`;
      await this.save(rec);
      throw err;
    }
    rec.state = transition(rec.state, "running", { id: rec.id, action: "restart" });
    rec.restartCount += 1;
    rec.userStopped = false;
    rec.exitCode = null;
    rec.oomKilled = false;
    rec.error = null;
    rec.startedAt = startedAt;
    const fresh = newEntry(rec, paths);
    e.exited = fresh.exited;
    e.markExited = fresh.markExited;
    e.finalizing = false;
    await this.save(rec);
    this.emit("container.started", toStatus(rec));
    void this.checkExit(rec.id);
  }

  // ---------------------------------------------------------------- healthchecks

  /**
   * Starts the container's healthcheck (health-check.ts; the spec's or the image's, resolved at
   * create) for a running container, from `starting` (or, for an adopted or unpaused container,
   * from the health it had). Status changes are saved and emitted as `container.health_status`.
   * A paused container gets none until it is unpaused.
   */
  private startHealthcheck(e: Entry, resume = false): void {
    const rec = e.rec;
    const cfg = rec.healthcheck === undefined ? rec.spec.healthcheck : rec.healthcheck;
    this.stopHealthcheck(rec.id);
    if (!cfg || this.closed || rec.state === "paused") return;
    const health = resume && rec.health ? rec.health : initialHealth();
    const startedAtMs = rec.startedAt ? Date.parse(rec.startedAt) : Date.now();
    // The checker continues from `health` (its streak, log and status), so resuming after an
    // unpause or an adoption neither loses the log nor re-announces an unchanged status.
    const hc = new HealthCheck(
      cfg,
      startedAtMs,
      this.healthProbe(rec.id),
      (h, changed) => {
        if (this.healthChecks.get(rec.id) !== hc || !LIVE.has(rec.state)) return;
        rec.health = h;
        if (!changed) return;
        void this.locked(e, () => this.save(rec)).catch((x: unknown) =>
          this.log("saving the health failed", { id: rec.id, error: String(x) }),
        );
        this.emit("container.health_status", toStatus(rec));
      },
      health,
    );
    if (!hc.start()) return;
    rec.health = health;
    this.healthChecks.set(rec.id, hc);
  }

  private stopHealthcheck(id: string): void {
    this.healthChecks.get(id)?.stop();
    this.healthChecks.delete(id);
  }

  private healthProbe(id: string): Prober {
    return async (argv, timeoutMs) => {
      const start = new Date().toISOString();
      const r = await runtimeExec(this.runtime, id, argv, {
        timeoutMs,
        maxOutput: HEALTH_OUTPUT_MAX,
      });
      const end = new Date().toISOString();
      if (r.timedOut)
        return {
          start,
          end,
          exitCode: -1,
          output: `Health check exceeded timeout (${timeoutMs}ms)`,
        };
      return { start, end, exitCode: r.exitCode ?? -1, output: r.stdout + r.stderr };
    };
  }

  // ---------------------------------------------------------------- adoption

  private async adopt(): Promise<void> {
    const dir = join(this.stateDir, "containers");
    // Read once: an exited container whose rootfs is still mounted was not released.
    const mounted = new Set((await readMountInfo()).map((m) => m.mountPoint));
    for (const id of await readdir(dir)) {
      const paths = containerPaths(this.stateDir, id);
      let rec: ContainerRecord;
      try {
        rec = ContainerRecordSchema.parse(JSON.parse(await readFile(paths.stateFile, "utf8")));
      } catch (err) {
        // A run that crashed before writing its record: nothing was started. Clean it up.
        this.log("discarding a container dir without a valid state.json", {
          id,
          error: (err as Error).message,
        });
        if (/^[0-9a-f]{64}$/.test(id)) await this.discard(id, paths).catch(() => undefined);
        continue;
      }
      const e = newEntry(rec, paths);
      this.entries.set(id, e);
      if (rec.state === "removing") {
        await this.removeEntry(e).catch(() => undefined);
        continue;
      }
      if (!LIVE.has(rec.state)) {
        // The agent may have died between saving an exit and releasing the runtime's state:
        // the release unmounts last, so a rootfs still mounted marks one left half done (one
        // check per container instead of a `runc delete` spawn each at every start).
        if (mounted.has(resolve(paths.rootfs))) await this.releaseExited(e);
        e.markExited();
        this.scheduleRestart(e, "agent-start");
        continue;
      }
      const code = await readExitFile(paths.exitFile);
      if (code !== null) {
        e.finalizing = true;
        await this.recordExit(e, code);
        continue;
      }
      const state = await this.runtime.state(id);
      if (rec.state === "created" && rec.createOnly && state?.status === "created") {
        this.log("adopted a created container", { id, pid: state.pid });
        continue;
      }
      if (rec.state === "created" && !rec.createOnly && (!state || state.status === "created")) {
        // The agent stopped in the middle of `run`: the container never started.
        this.entries.delete(id);
        await this.discard(id, paths).catch(() => undefined);
        continue;
      }
      if (state && (state.status === "running" || state.status === "paused")) {
        // runc reads the freezer: a container paused (or thawed) behind our back is seen as such.
        const actual = state.status;
        if ((rec.state === "running" || rec.state === "paused") && rec.state !== actual) {
          rec.state = transition(rec.state, actual, { id, action: "adopt" });
          await this.save(rec);
        }
        this.log(`adopted a ${actual} container`, { id, pid: state.pid });
        this.startHealthcheck(e, true);
        continue;
      }
      if (pidAlive(rec.conmonPid)) continue; // conmon is about to write the exit file
      e.finalizing = true;
      await this.recordExit(e, null, "the container's monitor is gone; its exit code is unknown");
    }
    // Addresses, ports and netns of containers that are gone (removed while half done).
    if (this.net) {
      const gone = await this.net.releaseUnknown(new Set(this.entries.keys()));
      if (gone.length > 0) this.log("released the network of vanished containers", { ids: gone });
    }
    // Rotation resumes (and catches up on what was written while the agent was down).
    for (const e of this.entries.values()) void this.logFilesOf(e).catch(() => undefined);
  }

  /** The container's log files, opened once; rotation runs while the entry exists. */
  private logFilesOf(e: Entry): Promise<RotatingLog> {
    let files = this.logFiles.get(e.rec.id);
    if (!files) {
      files = RotatingLog.open(e.paths.log, e.rec.spec.logConfig, {
        warn: (msg, extra) => this.log(msg, { id: e.rec.id, ...extra }),
      }).then((l) => {
        if (!this.closed && this.entries.has(e.rec.id)) l.start();
        return l;
      });
      this.logFiles.set(e.rec.id, files);
      files.catch((err: unknown) => {
        this.logFiles.delete(e.rec.id);
        this.log("cannot open the log files", { id: e.rec.id, error: (err as Error).message });
      });
    }
    return files;
  }

  private async closeLogFiles(id: string): Promise<void> {
    const files = this.logFiles.get(id);
    this.logFiles.delete(id);
    await files?.then((l) => l.close()).catch(() => undefined);
  }

  // ---------------------------------------------------------------- helpers

  private async save(rec: ContainerRecord): Promise<void> {
    await writeFileAtomic(
      containerPaths(this.stateDir, rec.id).stateFile,
      JSON.stringify(rec, null, 2),
      0o600,
    );
  }

  private locked<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    const next = e.lock.then(fn, fn);
    e.lock = next.catch(() => undefined);
    return next;
  }

  /** Stops watchers; the containers keep running. */
  async close(): Promise<void> {
    this.closed = true;
    await this.history.stop();
    for (const e of this.entries.values()) clearTimeout(e.restartTimer);
    for (const id of [...this.healthChecks.keys()]) this.stopHealthcheck(id);
    await Promise.all([...this.logFiles.keys()].map((id) => this.closeLogFiles(id)));
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    await this.net?.close();
    await Promise.allSettled([...this.creating.values()]);
    await Promise.allSettled([...this.entries.values()].map((e) => e.lock));
  }
}
