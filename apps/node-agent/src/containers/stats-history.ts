/**
 * The last hour of stats, kept in memory: every `intervalMs` (5 s → 720 points) the agent samples
 * each running or paused container (cgroup counters, through the same `stats` as
 * `container.stats`) and the node itself (/proc), turns consecutive counters into rates, and
 * appends one point per subject to a bounded ring. A chart opened late asks `stats.history` and
 * gets the hour at once. Rounds never overlap (the next one is scheduled when one ends), a
 * container's history stays until it is removed (so an exited one still shows its last hour),
 * and nothing is written to disk: an agent restart starts a new hour.
 */
import { readFile, readdir } from "node:fs/promises";
import type { ContainerStats, ContainerStatus, StatsHistory, StatsPoint } from "@berth/core";

/** Raw cumulative counters of one sample, to compute rates from the next. */
interface Counters {
  t: number;
  /** Busy CPU time in ns (container: cgroup usage; node: /proc/stat minus idle and iowait). */
  cpuNs: number;
  /** Wall CPU time of every CPU in ns (container: /proc/stat total; node: the same). */
  cpuTotalNs: number;
  onlineCpus: number;
  rx: number;
  tx: number;
  read: number;
  write: number;
}

class Ring {
  private readonly buf: StatsPoint[] = [];
  last: Counters | undefined;
  constructor(private readonly capacity: number) {}
  push(p: StatsPoint): void {
    this.buf.push(p);
    if (this.buf.length > this.capacity) this.buf.splice(0, this.buf.length - this.capacity);
  }
  after(afterMs: number | undefined): StatsPoint[] {
    if (afterMs === undefined) return this.buf.slice();
    let i = this.buf.length;
    while (i > 0 && this.buf[i - 1]!.t > afterMs) i--;
    return this.buf.slice(i);
  }
}

export interface StatsSource {
  list(): ContainerStatus[];
  stats(id: string): Promise<ContainerStats>;
}

export interface NodeSample {
  counters: Counters;
  memoryBytes: number;
  memoryTotalBytes: number;
  pids: number;
}

function rate(delta: number, ms: number): number {
  return ms > 0 && delta > 0 ? (delta * 1000) / ms : 0;
}

/** The point for `now` given the previous counters (rates 0 on the first sample). */
export function toPoint(
  prev: Counters | undefined,
  now: Counters,
  rest: Pick<StatsPoint, "memoryBytes" | "memoryLimitBytes" | "pids">,
): StatsPoint {
  const ms = prev ? now.t - prev.t : 0;
  const dTotal = prev ? now.cpuTotalNs - prev.cpuTotalNs : 0;
  const dCpu = prev ? now.cpuNs - prev.cpuNs : 0;
  return {
    t: now.t,
    cpuPercent: dTotal > 0 && dCpu > 0 ? (dCpu / dTotal) * now.onlineCpus * 100 : 0,
    ...rest,
    netRxBps: prev ? rate(now.rx - prev.rx, ms) : 0,
    netTxBps: prev ? rate(now.tx - prev.tx, ms) : 0,
    ioReadBps: prev ? rate(now.read - prev.read, ms) : 0,
    ioWriteBps: prev ? rate(now.write - prev.write, ms) : 0,
  };
}

export class StatsHistoryRecorder {
  private readonly containers = new Map<string, Ring>();
  private readonly node: Ring;
  private readonly capacity: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private round: Promise<void> | undefined;

  constructor(
    private readonly source: StatsSource,
    readonly intervalMs = 5000,
    private readonly readNode: () => Promise<NodeSample> = readNodeSample,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {
    this.capacity = Math.max(2, Math.ceil(3_600_000 / intervalMs));
    this.node = new Ring(this.capacity);
  }

  /** Takes a first sample now, then one every interval. */
  start(): void {
    this.stopped = false;
    const loop = () => {
      this.round = this.sample()
        .catch(this.onError)
        .finally(() => {
          if (!this.stopped) {
            this.timer = setTimeout(loop, this.intervalMs);
            this.timer.unref();
          }
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round: the node and every running or paused container. */
  async sample(): Promise<void> {
    const list = this.source.list();
    const live = new Set(list.map((c) => c.id));
    for (const id of this.containers.keys()) if (!live.has(id)) this.containers.delete(id);
    const sampled = list.filter((c) => c.state === "running" || c.state === "paused");
    await Promise.all([
      this.readNode().then((n) => {
        // A point needs a previous sample for its rates: the first one only sets the counters.
        if (this.node.last)
          this.node.push(
            toPoint(this.node.last, n.counters, {
              memoryBytes: n.memoryBytes,
              memoryLimitBytes: n.memoryTotalBytes,
              pids: n.pids,
            }),
          );
        this.node.last = n.counters;
      }),
      ...sampled.map(async (c) => {
        let s: ContainerStats;
        try {
          s = await this.source.stats(c.id);
        } catch {
          return; // exited or removed meanwhile
        }
        let ring = this.containers.get(c.id);
        if (!ring) this.containers.set(c.id, (ring = new Ring(this.capacity)));
        const now: Counters = {
          t: s.takenAt,
          cpuNs: s.cpu.totalNs,
          cpuTotalNs: s.cpu.systemNs,
          onlineCpus: s.cpu.onlineCpus,
          rx: s.net?.rxBytes ?? 0,
          tx: s.net?.txBytes ?? 0,
          read: s.blkio.readBytes,
          write: s.blkio.writeBytes,
        };
        // A restart resets the cgroup counters: start the rates over instead of going negative.
        // Without a previous sample there is no rate yet: the first sample only sets counters.
        const prev = ring.last && ring.last.cpuNs <= now.cpuNs ? ring.last : undefined;
        if (prev)
          ring.push(
            toPoint(prev, now, {
              memoryBytes: s.memory.usageBytes,
              memoryLimitBytes: s.memory.limitBytes,
              pids: s.pids.current,
            }),
          );
        ring.last = now;
      }),
    ]);
  }

  /** `stats.history`: a container's points (empty when never sampled) or the node's. */
  history(p: { containerId?: string | undefined; afterMs?: number | undefined }): StatsHistory {
    const ring = p.containerId === undefined ? this.node : this.containers.get(p.containerId);
    return { intervalMs: this.intervalMs, points: ring ? ring.after(p.afterMs) : [] };
  }
}

/** CPU, memory, network, disk IO and task counters of the host, from /proc and /sys. */
export async function readNodeSample(): Promise<NodeSample> {
  const [stat, meminfo, netdev, diskstats, loadavg, blocks] = await Promise.all([
    readFile("/proc/stat", "utf8"),
    readFile("/proc/meminfo", "utf8"),
    readFile("/proc/net/dev", "utf8"),
    readFile("/proc/diskstats", "utf8").catch(() => ""),
    readFile("/proc/loadavg", "utf8"),
    readdir("/sys/block").catch(() => [] as string[]),
  ]);
  return parseNodeSample(Date.now(), { stat, meminfo, netdev, diskstats, loadavg, blocks });
}

/** USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture we run on. */
const TICK_NS = 10_000_000;

export function parseNodeSample(
  t: number,
  f: {
    stat: string;
    meminfo: string;
    netdev: string;
    diskstats: string;
    loadavg: string;
    blocks: string[];
  },
): NodeSample {
  const lines = f.stat.split("\n");
  const cpu = (lines[0] ?? "").trim().split(/\s+/).slice(1, 9).map(Number);
  const total = cpu.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const onlineCpus = Math.max(1, lines.filter((l) => /^cpu\d+\s/.test(l)).length);
  const mem = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(f.meminfo);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const memoryTotalBytes = mem("MemTotal");
  let rx = 0;
  let tx = 0;
  for (const l of f.netdev.split("\n").slice(2)) {
    const [name, rest] = l.split(":");
    if (!rest || name!.trim() === "lo") continue;
    const v = rest.trim().split(/\s+/).map(Number);
    rx += v[0] ?? 0;
    tx += v[8] ?? 0;
  }
  // Whole disks only (partitions would count twice); loop, ram and device-mapper devices sit on
  // top of disks already counted.
  const disks = new Set(f.blocks.filter((b) => !/^(loop|ram|zram|dm-|md|nbd)/.test(b)));
  let read = 0;
  let write = 0;
  for (const l of f.diskstats.split("\n")) {
    const v = l.trim().split(/\s+/);
    if (v.length < 10 || !disks.has(v[2]!)) continue;
    read += Number(v[5]) * 512;
    write += Number(v[9]) * 512;
  }
  const tasks = /\s\d+\/(\d+)\s/.exec(f.loadavg);
  return {
    counters: {
      t,
      cpuNs: (total - idle) * TICK_NS,
      cpuTotalNs: total * TICK_NS,
      // The node's busy share is already over every CPU: ×onlineCpus makes 100 % one CPU.
      onlineCpus,
      rx,
      tx,
      read,
      write,
    },
    memoryBytes: Math.max(0, memoryTotalBytes - mem("MemAvailable")),
    memoryTotalBytes,
    pids: tasks ? Number(tasks[1]) : 0,
  };
}
