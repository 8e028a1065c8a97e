/**
 * /metrics over a real HTTP server on 127.0.0.1 with a protocol-v1 test peer: who may scrape,
 * and what a scrape says after requests, a command round trip, registry traffic and a heartbeat
 * with node numbers. Every line of the scraped text is parsed against the exposition format.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerMetrics } from "./metrics";
import { appRouter } from "./root";
import { addUser, createFixture, type Fixture } from "./testing/fixtures";
import { startPeerServer, type PeerServer } from "./testing/test-server";

const SERVER_ID = "testserverid2345678901234a";
const TOKEN = "metrics-token-0123456789abcdef";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format strictly: every line must be a comment, TYPE, HELP or sample. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sampleRe = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(
      line,
    );
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (new RegExp(`^# HELP ${name} `).test(line)) continue;
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`not exposition format: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelRe.lastIndex = 0;
      let l: RegExpExecArray | null;
      let consumed = 0;
      while ((l = labelRe.exec(m[2])) !== null) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        consumed = labelRe.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    }
    const v = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    if (Number.isNaN(v) && m[3] !== "NaN") throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value: v });
  }
  return { types, samples };
}

describe("/metrics", () => {
  let f: Fixture;
  let srv: PeerServer;
  let base: string;
  let metrics: ServerMetrics;

  async function start(allowLoopback: boolean) {
    metrics = new ServerMetrics(f.gateway, Object.keys(appRouter._def.procedures));
    srv = await startPeerServer(f, SERVER_ID, {
      metrics: { metrics, access: { token: TOKEN, allowLoopback } },
      notFoundBody: "not found",
    });
    base = srv.base;
  }

  beforeEach(async () => {
    f = await createFixture({ serverId: SERVER_ID });
  });
  afterEach(async () => {
    await srv.close();
    await f.close();
  });

  const connect = (hostname: string) => srv.connect(hostname);

  const scrape = (headers: Record<string, string> = {}) =>
    fetch(`http://${base}/metrics`, { headers });

  it("refuses scrapes without a credential, from non-admins and with a wrong token", async () => {
    await start(false);
    expect((await scrape()).status).toBe(401);
    expect((await scrape({ authorization: "Bearer wrong-token-0123456789abc" })).status).toBe(401);
    const op = await addUser(f, "olga", { role: "operator" });
    const opToken = f.services.auth.createApiToken(op, "t").token;
    expect((await scrape({ authorization: `Bearer ${opToken}` })).status).toBe(403);
    const adminToken = f.services.auth.createApiToken(f.adminId, "t").token;
    expect((await scrape({ authorization: `Bearer ${adminToken}` })).status).toBe(200);
    expect((await scrape({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  it("lets loopback clients scrape without a credential when configured so", async () => {
    await start(true);
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it("counts requests, agents, command round trips, registry traffic and node numbers", async () => {
    await start(false);
    const { peer, j } = await connect("alpha");
    peer.send({
      type: "heartbeat",
      ts: Date.now(),
      metrics: {
        containers: { running: 3, exited: 1 },
        starts: { count: 7, sumSeconds: 2.1, p50Seconds: 0.25, p99Seconds: 0.9 },
        cgroup: { cpuSeconds: 42.5, memoryBytes: 123_456_789 },
      },
    });
    // a command round trip through the gateway
    const listed = f.gateway.send(f.services.nodes.list()[0]!.id, "volume.list", {});
    const cmd = await peer.next("command");
    peer.send({ type: "result", id: cmd.id, ok: true, data: { volumes: [] } });
    await listed;
    // HTTP: a health check, an unknown tRPC path, the registry
    await fetch(`http://${base}/api/health`);
    await fetch(`http://${base}/api/trpc/no.such.procedure`);
    await fetch(`http://${base}/v2/`);
    await fetch(`http://${base}/v2/team/app/blobs/uploads/`, {
      method: "POST",
      body: "x".repeat(1000),
    });

    const res = await scrape({ authorization: `Bearer ${TOKEN}` });
    const { types, samples } = parseExposition(await res.text());
    const get = (name: string, labels: Record<string, string> = {}) =>
      samples.find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )?.value;

    expect(types.get("berth_http_requests_total")).toBe("counter");
    expect(types.get("berth_agent_command_duration_seconds")).toBe("histogram");
    expect(get("berth_agents_connected")).toBe(1);
    expect(
      get("berth_http_requests_total", { method: "GET", route: "/api/health", code: "200" }),
    ).toBe(1);
    expect(get("berth_http_requests_total", { route: "/api/trpc/(unknown)" })).toBe(1);
    expect(get("berth_http_request_duration_seconds_count", { route: "/api/health" })).toBe(1);
    expect(
      get("berth_agent_command_duration_seconds_count", { type: "volume.list", outcome: "ok" }),
    ).toBe(1);
    expect(get("berth_agent_commands_in_flight", { type: "volume.list" })).toBe(0);
    expect(get("berth_registry_requests_total", { method: "GET" })).toBe(1);
    expect(get("berth_registry_requests_total", { method: "POST" })).toBe(1);
    expect(get("berth_registry_bytes_total", { direction: "out" })).toBeGreaterThan(0);
    expect(get("berth_registry_bytes_total", { direction: "in" })).toBe(1000);
    expect(get("berth_node_containers", { node: "alpha", state: "running" })).toBe(3);
    expect(get("berth_node_containers", { node: "alpha", state: "exited" })).toBe(1);
    expect(get("berth_node_container_starts", { node: "alpha" })).toBe(7);
    expect(get("berth_node_container_start_seconds", { node: "alpha", quantile: "0.99" })).toBe(
      0.9,
    );
    expect(get("berth_node_cgroup_cpu_seconds", { node: "alpha" })).toBe(42.5);
    expect(get("berth_node_cgroup_memory_bytes", { node: "alpha" })).toBe(123_456_789);
    expect(get("berth_server_process_resident_memory_bytes")).toBeGreaterThan(0);

    // a node that goes away leaves no series behind
    peer.ws.terminate();
    // Scrape once the server saw the close, not after a fixed sleep a loaded machine can outlast.
    await expect.poll(() => f.gateway.isOnline(j.nodeId), { timeout: 10_000 }).toBe(false);
    const after = parseExposition(
      await (await scrape({ authorization: `Bearer ${TOKEN}` })).text(),
    );
    expect(after.samples.filter((s) => s.labels.node === "alpha")).toEqual([]);
  });
});
