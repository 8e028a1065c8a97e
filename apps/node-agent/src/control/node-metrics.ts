/**
 * The numbers a heartbeat carries for the server's /metrics (protocol NodeMetrics): containers
 * by state, how long recent container starts took, and the agent's cgroup usage (read by the
 * `usage` callback main.ts wires; the last value read is sent, so a heartbeat never waits).
 */
import type { ContainerStatus, NodeMetrics } from "@berth/core";

/** Start durations kept for the percentiles. */
const WINDOW = 1024;

export class NodeMetricsRecorder {
  private count = 0;
  private sumSeconds = 0;
  private readonly recent: number[] = [];
  private next = 0;
  private cgroup: NodeMetrics["cgroup"];
  private reading = false;

  constructor(
    private readonly usage: (() => Promise<NodeMetrics["cgroup"]>) | null = null,
    private readonly onError: (e: Error) => void = () => undefined,
  ) {}

  /** A container start (run / start / restart command) that took `seconds`. */
  recordStart(seconds: number): void {
    this.count++;
    this.sumSeconds += seconds;
    if (this.recent.length < WINDOW) this.recent.push(seconds);
    else this.recent[this.next] = seconds;
    this.next = (this.next + 1) % WINDOW;
  }

  /** The current numbers; also starts refreshing the cgroup usage for the next call. */
  snapshot(containers: readonly ContainerStatus[]): NodeMetrics {
    const byState: Record<string, number> = {};
    for (const c of containers) byState[c.state] = (byState[c.state] ?? 0) + 1;
    const out: NodeMetrics = { containers: byState };
    if (this.count > 0) {
      const sorted = [...this.recent].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
      out.starts = {
        count: this.count,
        sumSeconds: this.sumSeconds,
        p50Seconds: q(0.5),
        p99Seconds: q(0.99),
      };
    }
    if (this.cgroup) out.cgroup = this.cgroup;
    this.refresh();
    return out;
  }

  private refresh(): void {
    if (!this.usage || this.reading) return;
    this.reading = true;
    this.usage()
      .then((u) => (this.cgroup = u))
      .catch((e: unknown) => this.onError(e as Error))
      .finally(() => (this.reading = false));
  }
}
