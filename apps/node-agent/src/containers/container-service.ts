/**
 * ContainerService: the agent's container engine. It turns a `container.run` into an overlay
 * rootfs + OCI bundle, has conmon run `runc create`, brings up loopback in the container's new
 * network namespace, runs `runc start`, and follows each container to its exit through
 * conmon's exit file (fs.watch on the exits dir, with a poll as a safety net). State lives on
 * disk per container, so a restarted agent adopts what is still running and records what
 * exited while it was down.
 */
import { watch, type FSWatcher } from "node:fs";
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  ContainerLimitsSchema,
  ContainerSpecSchema,
  DomainError,
  conflict,
  notFound,
  type CommandParams,
  type CommandResult,
  type ContainerState,
  type ContainerStats,
  type ContainerStatus,
  type EventData,
  type EventName,
  type LogLine,
  type NodeFacts,
} from "@berth/core";
import { detectCgroups } from "../cgroups/detect";
import { driverFor, type AppliedLimits, type CgroupDriver } from "../cgroups/cgroup-driver";
import { readSystemCpu, validateLimits } from "../cgroups/limits";
import { collectFacts } from "../facts/facts";
import { ImageStore } from "../images/image-store";
import { ConmonMonitor, readExitFile } from "../monitor/conmon";
import { readK8sLog } from "../monitor/k8s-log";
import type { OciRuntime } from "../runtime/oci-runtime";
import { RuncRuntime } from "../runtime/runc-runtime";
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
import {
  capabilitiesFromMask,
  checkWorkingDir,
  resolveSecurity,
  resolveTmpfs,
  withSecurity,
  withTmpfs,
} from "../runtime/spec/security";
import { run as exec } from "../sys/exec";
import { isErrno, writeFileAtomic } from "../sys/fs";
import { mountOverlay, unmount } from "../sys/mount";
import {
  ContainerRecordSchema,
  containerPaths,
  toStatus,
  type ContainerPaths,
  type ContainerRecord,
} from "./container-record";
import { wasOomKilled } from "./oom";
import { findExecutable, processConfig, resolveUser } from "./process-config";
import { transition } from "./state-machine";

export interface ContainerServiceDeps {
  stateDir: string;
  runtimePath?: string;
  conmonPath?: string;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

type EventCallback = <N extends EventName>(name: N, data: EventData<N>) => void;

interface Entry {
  rec: ContainerRecord;
  paths: ContainerPaths;
  /** Serializes mutations of one container. */
  lock: Promise<unknown>;
  finalizing: boolean;
  exited: Promise<void>;
  markExited: () => void;
}

const AGENT_VERSION = "0.1.0";
const EXIT_POLL_MS = 1000;
const LIVE: ReadonlySet<ContainerState> = new Set(["created", "running", "stopping"]);

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
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly exitsDir: string;
  private readonly socketsDir: string;
  private readonly log: NonNullable<ContainerServiceDeps["log"]>;

  private constructor(
    private readonly stateDir: string,
    private readonly images: ImageStore,
    private readonly runtime: OciRuntime,
    private readonly monitor: ConmonMonitor,
    private readonly cgroups: CgroupDriver,
    log: ContainerServiceDeps["log"],
  ) {
    this.exitsDir = join(stateDir, "exits");
    this.socketsDir = join(stateDir, "sockets");
    this.log = log ?? (() => undefined);
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
    const runtime = await RuncRuntime.create(
      deps.runtimePath ?? "/usr/sbin/runc",
      join(stateDir, "runc"),
    );
    const cgroups = driverFor(layout, runtime);
    await cgroups.prepare();
    const monitor = new ConmonMonitor(deps.conmonPath ?? "/usr/bin/conmon", runtime);
    const images = await ImageStore.open(stateDir);
    await images.ensureBusybox();
    const svc = new ContainerService(stateDir, images, runtime, monitor, cgroups, deps.log);
    await svc.adopt();
    svc.startWatching();
    return svc;
  }

  // ---------------------------------------------------------------- events

  onEvent(cb: EventCallback): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private emit<N extends EventName>(name: N, data: EventData<N>): void {
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

  async listImages(): Promise<CommandResult<"image.list">["images"]> {
    return this.images.list();
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
    };
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

  // ---------------------------------------------------------------- run

  run(p: CommandParams<"container.run">): Promise<ContainerStatus> {
    const known = this.entries.get(p.containerId);
    if (known) return Promise.resolve(toStatus(known.rec));
    const inflight = this.creating.get(p.containerId);
    if (inflight) return inflight;
    const started = this.doRun(p).finally(() => this.creating.delete(p.containerId));
    this.creating.set(p.containerId, started);
    return started;
  }

  private async doRun(p: CommandParams<"container.run">): Promise<ContainerStatus> {
    if (this.closed) throw new DomainError("unavailable", "the container service is closed");
    const spec = ContainerSpecSchema.parse(p.spec);
    validateLimits(spec.limits, await this.cgroups.hostCpusets());
    if (spec.workingDir !== undefined) checkWorkingDir(spec.workingDir);
    const security = resolveSecurity(spec.security, {
      knownCapabilities: await grantableCapabilities(),
    });
    const tmpfs = resolveTmpfs(spec.tmpfs);
    const blkioWeight = await this.cgroups.supportsBlkioWeight();
    for (const e of this.entries.values()) {
      if (e.rec.name === p.name)
        throw conflict(
          `the container name "${p.name}" is already in use by ${e.rec.id.slice(0, 12)}`,
        );
    }
    const image = await this.images.resolve(spec.image);
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
      await mountOverlay({
        lowerDirs,
        upperDir: paths.upper,
        workDir: paths.work,
        target: paths.rootfs,
      });
      await findExecutable(paths.rootfs, proc.args[0]!, proc.env, proc.cwd);
      const user = await resolveUser(paths.rootfs, proc.user);

      const ociSpec = buildSpec(
        withProcess({
          args: proc.args,
          env: proc.env,
          cwd: proc.cwd,
          uid: user.uid,
          gid: user.gid,
        }),
        withRootfs(paths.rootfs),
        withHostname(hostname),
        withNamespaces("pid", "network", "uts", "mount", "ipc"),
        withRlimits(),
        withDefaultMounts(),
        withLimits(spec.limits, {
          blkioWeight,
          warn: (msg) => this.log(msg, { id }),
        }),
        withSecurity(security),
        withTmpfs(tmpfs),
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
      // The new network namespace has only a down loopback: bring it up before the process runs.
      await exec(["nsenter", `--target=${mon.pid}`, "--net", "ip", "link", "set", "lo", "up"]);
      const startedAt = new Date().toISOString();
      await this.runtime.start(id);
      rec.state = transition(rec.state, "running", { id, action: "start" });
      rec.startedAt = startedAt;
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
    const status = toStatus(entry.rec);
    this.emit("container.started", status);
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
    // The process is gone: free the runtime's state and cgroups, and the rootfs mount, before
    // anyone sees "exited". The rw layer (upper/) stays until remove.
    await this.runtime
      .delete(rec.id, true)
      .catch((x: unknown) => this.log("runc delete failed", { id: rec.id, error: String(x) }));
    await unmount(e.paths.rootfs).catch((x: unknown) =>
      this.log("unmount failed", { id: rec.id, error: String(x) }),
    );
    rec.state = next;
    rec.exitCode = code;
    rec.oomKilled = oom;
    rec.error = error;
    rec.finishedAt = (exitStat?.mtime ?? new Date()).toISOString();
    rec.pid = null;
    await this.save(rec);
    e.markExited();
    this.emit("container.exited", toStatus(rec));
    if (rec.autoRemove) {
      void this.removeEntry(e).catch((x: unknown) =>
        this.log("auto-remove failed", { id: rec.id, error: String(x) }),
      );
    }
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
    if (e.rec.state === "exited") return toStatus(e.rec);
    await this.locked(e, async () => {
      if (e.rec.state === "stopping" || e.rec.state === "exited") return;
      e.rec.state = transition(e.rec.state, "stopping", { id: e.rec.id, action: "stop" });
      await this.save(e.rec);
      await this.runtime.kill(e.rec.id, "SIGTERM");
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
    if (!e) {
      const inflight = this.creating.get(p.containerId);
      if (!inflight) return { removed: false };
      await inflight.catch(() => undefined);
      return this.remove(p);
    }
    if (LIVE.has(e.rec.state)) {
      if (!p.force) {
        throw new DomainError(
          "invalid_state",
          `cannot remove container ${e.rec.id.slice(0, 12)}: it is ${e.rec.state}; stop it first or use force`,
        );
      }
      await this.locked(e, async () => {
        if (e.rec.state === "running" || e.rec.state === "created") {
          e.rec.state = transition(e.rec.state, "stopping", { id: e.rec.id, action: "stop" });
          await this.save(e.rec);
        }
      });
      await this.runtime.kill(e.rec.id, "SIGKILL", true);
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
    await unmount(paths.rootfs);
    await this.cgroups.removeContainer(id);
    await rm(paths.dir, { recursive: true, force: true });
    await rm(paths.exitFile, { force: true });
    await rm(join(this.socketsDir, id.slice(0, 12)), { recursive: true, force: true });
  }

  /** Removes the empty `berth` parent groups once this node has no container left. */
  private async cleanupCgroups(inflight = 0): Promise<void> {
    if (this.entries.size > 0 || this.creating.size > inflight) return;
    await this.cgroups
      .cleanup()
      .catch((e: unknown) => this.log("cgroup cleanup failed", { error: (e as Error).message }));
  }

  // ---------------------------------------------------------------- logs

  async logs(
    p: CommandParams<"container.logs">,
    signal: AbortSignal,
    onChunk: (lines: LogLine[]) => void,
  ): Promise<void> {
    const e = this.entries.get(p.containerId);
    if (!e)
      throw notFound(`container ${p.containerId.slice(0, 12)} not found on this node`, {
        id: p.containerId,
      });
    await readK8sLog(
      e.paths.log,
      { tail: p.tail, follow: p.follow, signal, isDone: () => !LIVE.has(e.rec.state) },
      onChunk,
    );
  }

  // ---------------------------------------------------------------- adoption

  private async adopt(): Promise<void> {
    const dir = join(this.stateDir, "containers");
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
        e.markExited();
        continue;
      }
      const code = await readExitFile(paths.exitFile);
      if (code !== null) {
        e.finalizing = true;
        await this.recordExit(e, code);
        continue;
      }
      const state = await this.runtime.state(id);
      if (rec.state === "created" && (!state || state.status === "created")) {
        // The agent stopped in the middle of `run`: the container never started.
        this.entries.delete(id);
        await this.discard(id, paths).catch(() => undefined);
        continue;
      }
      if (state && (state.status === "running" || state.status === "paused")) {
        this.log("adopted a running container", { id, pid: state.pid });
        continue;
      }
      if (pidAlive(rec.conmonPid)) continue; // conmon is about to write the exit file
      e.finalizing = true;
      await this.recordExit(e, null, "the container's monitor is gone; its exit code is unknown");
    }
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
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    await Promise.allSettled([...this.creating.values()]);
    await Promise.allSettled([...this.entries.values()].map((e) => e.lock));
  }
}
