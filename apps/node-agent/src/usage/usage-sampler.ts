/**
 * The usage sampler: every `intervalMs` it reads the counters of each running (or paused)
 * container — cgroup CPU time, memory, pids, block IO, and its veths' bytes — and records one
 * round of readings in the usage spool (which numbers, integrates and persists them). When the
 * engine records an exit it calls `finalSampleHook` before the cgroup is released (also for
 * exits found at adoption after an agent restart), so a container that lived shorter than one
 * interval is still billed.
 *
 * Rounds never overlap: a slow round delays the next instead of piling up.
 */
import type { ContainerStatus } from "@berth/core";
import type { Logger } from "../control/logger";
import type { VethBytes } from "./net-totals";
import type { UsageReading, UsageSpool } from "./usage-spool";

/** A container's raw counters, as the engine reads them (ContainerService.usageCounters). */
export interface UsageCounters {
  cpuNs: number;
  memBytes: number;
  memLimitBytes: number | null;
  pids: number;
  blkReadBytes: number;
  blkWriteBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  /** Per host veth (the spool turns them into monotonic netRx/TxBytes, net-totals.ts). */
  veths?: Record<string, VethBytes>;
}

/** What the sampler needs from the engine. */
export interface UsageSource {
  list(): ContainerStatus[];
  usageCounters(id: string): Promise<UsageCounters>;
}

export interface UsageSamplerOptions {
  source: UsageSource;
  spool: UsageSpool;
  intervalMs: number;
  log: Logger;
  now?: () => number;
}

const SAMPLED_STATES = new Set<ContainerStatus["state"]>(["running", "paused"]);

/** A reading of a run's counters (null for a container that never started). */
export function usageReading(
  c: ContainerStatus,
  counters: UsageCounters,
  at: number,
  final = false,
): UsageReading | null {
  if (!c.startedAt) return null;
  return {
    containerId: c.id,
    epoch: c.startedAt,
    at,
    ...counters,
    ...(final ? { final: true } : {}),
  };
}

/**
 * The engine's exit hook (ContainerServiceDeps.onExitRecorded): records the run's final sample
 * in the spool, while its cgroup still exists.
 */
export function finalSampleHook(spool: UsageSpool, log: Logger, now: () => number = Date.now) {
  return (c: ContainerStatus, counters: UsageCounters | null): void => {
    const r = counters ? usageReading(c, counters, now(), true) : null;
    if (r) spool.record([r]);
    else log.debug("usage: no final sample", { id: c.id });
  };
}

export class UsageSampler {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;
  /** Wall time spent reading counters (for bench/usage.ts). */
  readonly metrics = { rounds: 0, samples: 0, readMs: 0 };

  constructor(private readonly o: UsageSamplerOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.round = this.sampleAll()
        .then(() => undefined)
        .catch((e: unknown) => this.o.log.error("usage sampling failed", { error: String(e) }))
        .finally(() => {
          this.round = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.o.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round: reads every running container and appends the readings in one fsync. */
  async sampleAll(): Promise<number> {
    const t0 = performance.now();
    const live = this.o.source.list().filter((c) => SAMPLED_STATES.has(c.state) && c.startedAt);
    const readings = await Promise.all(live.map((c) => this.read(c, false)));
    const ok = readings.filter((r): r is UsageReading => r !== null);
    const written = this.o.spool.record(ok).length;
    this.metrics.rounds++;
    this.metrics.samples += written;
    this.metrics.readMs += performance.now() - t0;
    return written;
  }

  private async read(c: ContainerStatus, final: boolean): Promise<UsageReading | null> {
    if (!c.startedAt) return null;
    try {
      return usageReading(c, await this.o.source.usageCounters(c.id), this.now(), final);
    } catch (e) {
      // Gone between list() and the read (removed, or released): its exit sample covers it.
      this.o.log.debug("usage: cannot read a container's counters", {
        id: c.id,
        error: (e as Error).message,
      });
      return null;
    }
  }
}
