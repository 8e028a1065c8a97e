/**
 * `berth update` and `berth stats --no-stream`: the formulas, and the whole program in-process
 * against a tiny tRPC server on 127.0.0.1 implementing only the procedures these commands call
 * (it tests the CLI's requests and output; it stands in for berth-server nowhere else).
 */
import {
  ContainerStatsInputSchema,
  DomainError,
  ListContainersInputSchema,
  UpdateContainerInputSchema,
  type ContainerStats,
} from "@berth/core";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { binarySize, cpuPercent, statsRow, STATS_COLUMNS } from "./update-stats.command";
import { runBerth, testTrpc, trpcServer, useTestServer } from "../testing/cli-harness";

const MiB = 2 ** 20;
const ID = "a".repeat(64);

function sample(over: { totalNs: number; systemNs: number }, usage = 20 * MiB): ContainerStats {
  return {
    id: ID,
    name: "web",
    takenAt: 0,
    cpu: { totalNs: over.totalNs, systemNs: over.systemNs, onlineCpus: 2 },
    memory: { usageBytes: usage, limitBytes: 64 * MiB, cacheBytes: 4 * MiB },
    pids: { current: 3, limit: 10 },
    blkio: { readBytes: 4_096_000, writeBytes: 1000 },
  };
}

describe("stats formulas (docker's)", () => {
  it("CPU % is Δcontainer / Δhost × online CPUs × 100", () => {
    // 0.25 s of container CPU while the host (2 CPUs) accrued 1 s: a quarter of one CPU
    const a = sample({ totalNs: 1e9, systemNs: 100e9 });
    const b = sample({ totalNs: 1.25e9, systemNs: 101e9 });
    expect(cpuPercent(a, b)).toBeCloseTo(50, 5);
    expect(cpuPercent(b, b)).toBe(0);
  });
  it("formats a row: memory without cache, binary units, decimal block IO", () => {
    const row = statsRow(
      sample({ totalNs: 0, systemNs: 0 }),
      sample({ totalNs: 1e8, systemNs: 1e9 }),
      null,
    );
    expect(row).toEqual([
      ID.slice(0, 12),
      "web",
      "20.00%",
      "16MiB / 64MiB",
      "25.00%",
      "--",
      "4.1MB / 1kB",
      "3",
    ]);
    expect(binarySize(1536 * 1024)).toBe("1.5MiB");
  });
  it("an unlimited container's limit is its node's memory", () => {
    const b = { ...sample({ totalNs: 0, systemNs: 0 }) };
    b.memory = { ...b.memory, limitBytes: null };
    expect(statsRow(b, b, 1024 * MiB)[3]).toBe("16MiB / 1GiB");
    expect(statsRow(b, b, null).slice(3, 5)).toEqual(["16MiB / --", "--"]);
  });
  it("NET I/O is the interfaces' received / sent bytes when the agent reports them", () => {
    const b = {
      ...sample({ totalNs: 0, systemNs: 0 }),
      net: { rxBytes: 1_500_000, txBytes: 2000, rxPackets: 10, txPackets: 5 },
    };
    expect(statsRow(b, b, null)[5]).toBe("1.5MB / 2kB");
  });
});

function startServer() {
  let cpu = 0;
  const { t, p, calls } = testTrpc();
  const view = {
    id: ID,
    shortId: ID.slice(0, 12),
    name: "web",
    image: "busybox",
    command: null,
    state: "running",
    exitCode: null,
    oomKilled: false,
    error: null,
    nodeId: "n1",
    nodeName: "node-1",
    teamId: "t1",
    createdBy: null,
    createdAt: 1,
    startedAt: 2,
    finishedAt: null,
    autoRemove: false,
    limits: {},
  };
  const router = t.router({
    nodes: t.router({
      list: p.query(() => [
        {
          id: "n1",
          name: "node-1",
          status: "online",
          facts: null,
          lastSeenAt: null,
          createdAt: 1,
          containers: { running: 1, total: 1 },
        },
      ]),
    }),
    containers: t.router({
      list: p.input(ListContainersInputSchema).query(() => [view]),
      get: p.input(z.object({ ref: z.string() })).query(({ input }) => {
        if (input.ref !== "web")
          throw new TRPCError({
            code: "NOT_FOUND",
            message: `no container "${input.ref}"`,
            cause: new DomainError("not_found", `no container "${input.ref}"`),
          });
        return view;
      }),
      update: p.input(UpdateContainerInputSchema).mutation(({ input }) => {
        if (input.ref !== "web")
          throw new TRPCError({
            code: "NOT_FOUND",
            message: `no container "${input.ref}"`,
            cause: new DomainError("not_found", `no container "${input.ref}"`),
          });
        return { ...view, limits: input.limits };
      }),
      stats: p.input(ContainerStatsInputSchema).query(() => {
        cpu += 1;
        // each sample: +0.1 s container CPU, +1 s host CPU (2 CPUs) → 20 %
        return sample({ totalNs: cpu * 1e8, systemNs: cpu * 1e9 });
      }),
    }),
  });
  return { server: trpcServer(router), calls };
}

describe("berth update / stats against a tRPC server on 127.0.0.1", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-us-");

  const berth = (argv: string[]) => runBerth(argv, env);

  it("update sends the parsed limits for each container and reports failures per ref", async () => {
    srv.calls.length = 0;
    const r = await berth([
      "update",
      "-m",
      "128m",
      "--pids-limit",
      "50",
      "--cpus",
      "0.5",
      "web",
      "nope",
    ]);
    expect(r.stdout).toBe("web\n");
    expect(r.stderr).toContain('berth: nope: no container "nope"');
    expect(r.code).toBe(1);
    expect(srv.calls.filter((c) => c.path === "containers.update").map((c) => c.input)).toEqual([
      { ref: "web", limits: { memoryBytes: 128 * MiB, pidsLimit: 50, nanoCpus: 500_000_000 } },
      { ref: "nope", limits: { memoryBytes: 128 * MiB, pidsLimit: 50, nanoCpus: 500_000_000 } },
    ]);
  });

  it("update without a flag is a usage error, before any request", async () => {
    srv.calls.length = 0;
    const r = await berth(["update", "web"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("you must provide one or more flags");
    expect(srv.calls).toEqual([]);
  });

  it("stats --no-stream samples twice and prints docker's columns", async () => {
    srv.calls.length = 0;
    const t0 = Date.now();
    const r = await berth(["stats", "--no-stream"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.trimEnd().split("\n");
    expect(header!.split(/\s{2,}/)).toEqual(STATS_COLUMNS);
    expect(row!.split(/\s{2,}/)).toEqual([
      ID.slice(0, 12),
      "web",
      "20.00%",
      "16MiB / 64MiB",
      "25.00%",
      "--",
      "4.1MB / 1kB",
      "3",
    ]);
    expect(srv.calls.filter((c) => c.path === "containers.stats")).toHaveLength(2);
  });

  it("stats --format other than table or json is a usage error, before any request", async () => {
    srv.calls.length = 0;
    const r = await berth(["stats", "--no-stream", "--format", "yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unsupported --format "yaml"');
    expect(srv.calls).toEqual([]);
  });

  it("stats --no-stream --format json prints one docker-keyed object per container", async () => {
    const r = await berth(["stats", "--no-stream", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ID: ID.slice(0, 12),
      Name: "web",
      CPUPerc: "20.00%",
    });
  });
});
