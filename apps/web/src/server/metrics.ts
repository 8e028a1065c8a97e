/**
 * berth-server's Prometheus metrics (prom-client, exposition format at /metrics): HTTP requests
 * by method, route and code (with a duration histogram), agents connected, agent commands in
 * flight and their latency by type, registry traffic, and per node — through the server, from
 * the numbers agents' heartbeats carry — containers by state, start latency and cgroup usage.
 *
 * Labels are bounded: routes are a fixed set (tRPC procedures only when the router has them),
 * node labels are node names (one series set per node of the fleet).
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { AgentGateway, GatewayObserver } from "./agents/gateway";

export const METRICS_PATH = "/metrics";

/** Who may scrape: a bearer token, administrators, and (when allowed) loopback clients. */
export interface MetricsAccess {
  /** `Authorization: Bearer <token>` (BERTH_METRICS_TOKEN); none when undefined. */
  token?: string | undefined;
  /** Scrapes from 127.0.0.0/8 and ::1 need no credential. */
  allowLoopback: boolean;
}

type MetricsGateway = Pick<AgentGateway, "connectedCount" | "nodeMetrics" | "setObserver">;

const SECONDS_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export function isLoopback(address: string | null | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** Constant-time comparison of a presented bearer token with the configured one. */
export function bearerMatches(
  authorization: string | undefined,
  token: string | undefined,
): boolean {
  if (!token) return false;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<"method" | "route" | "code">;
  private readonly httpDuration: Histogram<"method" | "route">;
  private readonly commandsInFlight: Gauge<"type">;
  private readonly commandDuration: Histogram<"type" | "outcome">;
  private readonly registryBytes: Counter<"direction">;
  private readonly registryRequests: Counter<"method" | "code">;
  /** tRPC procedure paths that may appear as route labels. */
  private readonly procedures: ReadonlySet<string>;

  constructor(gateway: MetricsGateway, procedures: Iterable<string> = []) {
    this.procedures = new Set(procedures);
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "berth_server_" });
    this.httpRequests = new Counter({
      name: "berth_http_requests_total",
      help: "HTTP requests served, by method, route and status code.",
      labelNames: ["method", "route", "code"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "berth_http_request_duration_seconds",
      help: "Time to answer HTTP requests (until the response ended).",
      labelNames: ["method", "route"],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    new Gauge({
      name: "berth_agents_connected",
      help: "Agents connected and past hello.",
      registers,
      collect() {
        this.set(gateway.connectedCount);
      },
    });
    this.commandsInFlight = new Gauge({
      name: "berth_agent_commands_in_flight",
      help: "Commands sent to agents and not answered yet, by type.",
      labelNames: ["type"],
      registers,
    });
    this.commandDuration = new Histogram({
      name: "berth_agent_command_duration_seconds",
      help: "Round trip of commands to agents, by type and outcome (ok, error, timeout).",
      labelNames: ["type", "outcome"],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.registryBytes = new Counter({
      name: "berth_registry_bytes_total",
      help: "Bytes through the OCI registry at /v2/ (in: request bodies, out: responses with headers).",
      labelNames: ["direction"],
      registers,
    });
    this.registryRequests = new Counter({
      name: "berth_registry_requests_total",
      help: "Requests to the OCI registry at /v2/, by method and status code.",
      labelNames: ["method", "code"],
      registers,
    });
    const nodeGauge = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      fill: (g: Gauge<L>, node: ReturnType<MetricsGateway["nodeMetrics"]>[number]) => void,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const n of gateway.nodeMetrics()) fill(this, n);
        },
      });
    nodeGauge(
      "berth_node_containers",
      "Containers on each connected node by state (from its last heartbeat).",
      ["node", "state"],
      (g, n) => {
        for (const [state, count] of Object.entries(n.metrics.containers))
          g.set({ node: n.nodeName, state }, count);
      },
    );
    nodeGauge(
      "berth_node_container_starts",
      "Container starts on each node since its agent started.",
      ["node"],
      (g, n) => {
        if (n.metrics.starts) g.set({ node: n.nodeName }, n.metrics.starts.count);
      },
    );
    nodeGauge(
      "berth_node_container_start_seconds",
      "How long container starts took on each node, over its recent starts (quantile 0.5, 0.99).",
      ["node", "quantile"],
      (g, n) => {
        const s = n.metrics.starts;
        if (!s) return;
        g.set({ node: n.nodeName, quantile: "0.5" }, s.p50Seconds);
        g.set({ node: n.nodeName, quantile: "0.99" }, s.p99Seconds);
      },
    );
    nodeGauge(
      "berth_node_cgroup_cpu_seconds",
      "CPU time used by every container of the node (its agent's cgroup subtree).",
      ["node"],
      (g, n) => {
        if (n.metrics.cgroup) g.set({ node: n.nodeName }, n.metrics.cgroup.cpuSeconds);
      },
    );
    nodeGauge(
      "berth_node_cgroup_memory_bytes",
      "Memory used by every container of the node (its agent's cgroup subtree).",
      ["node"],
      (g, n) => {
        if (n.metrics.cgroup) g.set({ node: n.nodeName }, n.metrics.cgroup.memoryBytes);
      },
    );
    gateway.setObserver(this.gatewayObserver());
  }

  private gatewayObserver(): GatewayObserver {
    return {
      commandStarted: (name) => this.commandsInFlight.inc({ type: name }),
      commandFinished: (name, seconds, outcome) => {
        this.commandsInFlight.dec({ type: name });
        this.commandDuration.observe({ type: name, outcome }, seconds);
      },
    };
  }

  /** The bounded route label of a request path. */
  routeOf(path: string): string {
    if (path.startsWith("/api/trpc/")) {
      const procs = path.slice("/api/trpc/".length);
      if (procs.includes(",")) return "/api/trpc/(batch)";
      return this.procedures.has(procs) ? `/api/trpc/${procs}` : "/api/trpc/(unknown)";
    }
    if (path === "/v2" || path.startsWith("/v2/")) return "/v2/";
    if (path.startsWith("/api/images/")) return "/api/images/";
    for (const fixed of ["/api/health", "/api/agent/join", "/api/agent", METRICS_PATH])
      if (path === fixed) return fixed;
    if (path.startsWith("/_next/")) return "/_next/";
    return "(dashboard)";
  }

  /** Counts the request once its response has ended (call first thing for every request). */
  observeRequest(req: IncomingMessage, res: ServerResponse, path: string): void {
    const route = this.routeOf(path);
    const method = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/.test(req.method ?? "")
      ? req.method!
      : "OTHER";
    const started = performance.now();
    const socket = req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    res.once("close", () => {
      const code = String(res.statusCode);
      this.httpRequests.inc({ method, route, code });
      this.httpDuration.observe({ method, route }, (performance.now() - started) / 1000);
      if (route === "/v2/") {
        this.registryRequests.inc({ method, code });
        // Bodies: the declared length, or what the socket read meanwhile (chunked uploads).
        const declared = Number(req.headers["content-length"] ?? 0) || 0;
        this.registryBytes.inc(
          { direction: "in" },
          Math.max(declared, socket.bytesRead - readBefore),
        );
        this.registryBytes.inc(
          { direction: "out" },
          Math.max(0, socket.bytesWritten - writtenBefore),
        );
      }
    });
  }

  /** The exposition text. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
