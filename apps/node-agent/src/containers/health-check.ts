/**
 * Healthchecks, as docker runs them: every `intervalMs` the agent runs the test in the
 * container (through the runtime's exec) with a `timeoutMs` deadline. Exit 0 makes it healthy
 * and resets the failing streak; any other result (non-zero exit, timeout, exec error) adds to
 * the streak, and `retries` failures in a row make it unhealthy. Failures during the start
 * period do not count while it is still `starting`. The last 5 probes are kept.
 */
import type { Health, Healthcheck } from "@berth/core";

export const HEALTH_LOG_SIZE = 5;
/** Output kept per probe, as docker keeps it. */
export const HEALTH_OUTPUT_MAX = 4096;

export interface ProbeResult {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

/** The argv to exec for a test; null for ["NONE"] (disabled). */
export function probeArgv(test: readonly string[]): string[] | null {
  const [kind, ...rest] = test;
  if (kind === "CMD") return rest;
  if (kind === "CMD-SHELL") return ["/bin/sh", "-c", rest.join(" ")];
  return null;
}

export const initialHealth = (): Health => ({ status: "starting", failingStreak: 0, log: [] });

/** The health after one probe. `inStartPeriod`: the container started less than startPeriod ago. */
export function applyProbe(
  h: Health,
  r: ProbeResult,
  o: { retries: number; inStartPeriod: boolean },
): Health {
  const log = [...h.log, { ...r, output: r.output.slice(0, HEALTH_OUTPUT_MAX) }].slice(
    -HEALTH_LOG_SIZE,
  );
  if (r.exitCode === 0) return { status: "healthy", failingStreak: 0, log };
  if (o.inStartPeriod && h.status === "starting") return { ...h, log };
  const failingStreak = h.failingStreak + 1;
  return {
    status: failingStreak >= o.retries ? "unhealthy" : h.status,
    failingStreak,
    log,
  };
}

export type Prober = (argv: string[], timeoutMs: number) => Promise<ProbeResult>;

/**
 * Runs one container's healthcheck until stopped. `onProbe` gets every new health and whether
 * its status changed. Probes never overlap: the next interval starts after a probe ends.
 */
export class HealthCheck {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  health: Health;

  constructor(
    private readonly cfg: Healthcheck,
    private readonly startedAtMs: number,
    private readonly probe: Prober,
    private readonly onProbe: (h: Health, changed: boolean) => void,
    health: Health = initialHealth(),
  ) {
    this.health = health;
  }

  /** false when the test is ["NONE"]. */
  start(): boolean {
    if (!probeArgv(this.cfg.test)) return false;
    this.schedule();
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.cfg.intervalMs);
  }

  private async tick(): Promise<void> {
    const argv = probeArgv(this.cfg.test)!;
    let r: ProbeResult;
    const start = new Date().toISOString();
    try {
      r = await this.probe(argv, this.cfg.timeoutMs);
    } catch (e) {
      r = { start, end: new Date().toISOString(), exitCode: -1, output: (e as Error).message };
    }
    if (this.stopped) return;
    const before = this.health.status;
    this.health = applyProbe(this.health, r, {
      retries: this.cfg.retries,
      inStartPeriod: Date.now() - this.startedAtMs < this.cfg.startPeriodMs,
    });
    this.onProbe(this.health, this.health.status !== before);
    this.schedule();
  }
}
