/**
 * The node metrics heartbeats carry: the recorder's counts and percentiles, the subtree reader
 * on cgroup v1 / v2 file layouts (written to a temporary directory shaped like the real ones),
 * and a real AgentClient sending them to a protocol server on 127.0.0.1 after a container start.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { newContainerId, type ContainerStatus, type NodeMetrics } from "@berth/core";
import { readSubtreeUsage } from "../cgroups/subtree-usage";
import { AgentClient } from "./agent-client";
import { memoryLogger } from "./logger";
import { Outbox } from "./outbox";
import { ProtocolTestServer, withTimeout } from "./test-helpers/protocol-server";
import { RecordingHandler } from "./test-helpers/recording-handler";
import { NodeMetricsRecorder } from "./node-metrics";

const st = (state: ContainerStatus["state"]) => ({ state }) as ContainerStatus;

describe("NodeMetricsRecorder", () => {
  it("counts containers by state and summarises start durations", async () => {
    let reads = 0;
    const r = new NodeMetricsRecorder(async () => {
      reads++;
      return { cpuSeconds: 12.5, memoryBytes: 4096 };
    });
    expect(r.snapshot([st("running"), st("running"), st("exited")])).toEqual({
      containers: { running: 2, exited: 1 },
    });
    for (let i = 1; i <= 100; i++) r.recordStart(i / 100);
    await new Promise((res) => setTimeout(res, 10));
    const m = r.snapshot([]);
    expect(m.containers).toEqual({});
    expect(m.starts).toEqual({ count: 100, sumSeconds: 50.5, p50Seconds: 0.51, p99Seconds: 1 });
    expect(m.cgroup).toEqual({ cpuSeconds: 12.5, memoryBytes: 4096 });
    expect(reads).toBe(2);
  });
});

describe("readSubtreeUsage", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "berth-subtree-"));
    dirs.push(d);
    return d;
  };

  it("reads cpu.stat and memory.current of <own>/berth on cgroup v2", async () => {
    const own = tmp();
    mkdirSync(join(own, "berth"));
    writeFileSync(join(own, "berth", "cpu.stat"), "usage_usec 2500000\nuser_usec 1\n");
    writeFileSync(join(own, "berth", "memory.current"), "1048576\n");
    const layout = {
      mode: "unified" as const,
      version: 2 as const,
      hierarchies: [
        { controllers: [], version: 2 as const, mountPoint: own, ownPath: "/", ownDir: own },
      ],
    };
    expect(await readSubtreeUsage(layout)).toEqual({ cpuSeconds: 2.5, memoryBytes: 1048576 });
  });

  it("reads cpuacct.usage and memory.usage_in_bytes on cgroup v1; undefined without a berth group", async () => {
    const cpu = tmp();
    const mem = tmp();
    const layout = {
      mode: "hybrid" as const,
      version: 1 as const,
      hierarchies: [
        {
          controllers: ["cpu", "cpuacct"],
          version: 1 as const,
          mountPoint: cpu,
          ownPath: "/",
          ownDir: cpu,
        },
        {
          controllers: ["memory"],
          version: 1 as const,
          mountPoint: mem,
          ownPath: "/",
          ownDir: mem,
        },
      ],
    };
    expect(await readSubtreeUsage(layout)).toBeUndefined();
    mkdirSync(join(cpu, "berth"));
    mkdirSync(join(mem, "berth"));
    writeFileSync(join(cpu, "berth", "cpuacct.usage"), "3000000000\n");
    writeFileSync(join(mem, "berth", "memory.usage_in_bytes"), "8192\n");
    expect(await readSubtreeUsage(layout)).toEqual({ cpuSeconds: 3, memoryBytes: 8192 });
  });
});

describe("heartbeats over the protocol", () => {
  it("carry containers by state and the start durations", async () => {
    const server = new ProtocolTestServer();
    server.autoWelcome = { heartbeatIntervalMs: 500 };
    await server.listen();
    const dir = mkdtempSync(join(tmpdir(), "berth-agent-metrics-"));
    const log = memoryLogger();
    const outbox = Outbox.open(dir, log);
    const client = new AgentClient({
      ...server.clientTarget(),
      handler: new RecordingHandler(),
      outbox,
      log,
    });
    try {
      client.start();
      const conn = await server.connection(1);
      await withTimeout(client.whenConnected(), 3000, "welcome");
      conn.send({
        type: "command",
        id: "run-1",
        name: "container.run",
        params: { containerId: newContainerId(), name: "web", spec: { image: "busybox" } },
      });
      await conn.waitFor((f) => f.type === "result" && f.id === "run-1");
      const hb = await conn.waitFor<{ type: "heartbeat"; ts: number; metrics?: NodeMetrics }>(
        (f) =>
          f.type === "heartbeat" && (f as { metrics?: NodeMetrics }).metrics?.starts !== undefined,
        3000,
      );
      expect(hb.metrics?.containers).toEqual({ running: 1 });
      expect(hb.metrics?.starts?.count).toBe(1);
    } finally {
      await client.close();
      outbox.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
