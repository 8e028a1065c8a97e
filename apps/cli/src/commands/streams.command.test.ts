/**
 * `berth events` and streaming `berth stats` end to end over SSE: the whole program in-process
 * against a tiny tRPC server on 127.0.0.1 implementing only the subscriptions these commands use
 * (it checks the CLI's requests and output; berth-server's own tests cover the real procedures).
 */
import {
  ContainerEventsInputSchema,
  ContainerStatsStreamInputSchema,
  ListContainersInputSchema,
  type ContainerEvent,
  type ContainerStats,
} from "@berth/core";
import { describe, expect, it } from "vitest";
import { CLEAR_SCREEN } from "./stats-stream";
import { runBerth, testTrpc, trpcServer, useTestServer } from "../testing/cli-harness";

const ID = "c".repeat(64);
const MiB = 2 ** 20;

function sample(n: number): ContainerStats {
  return {
    id: ID,
    name: "web",
    takenAt: n,
    cpu: { totalNs: n * 1e8, systemNs: n * 1e9, onlineCpus: 2 },
    memory: { usageBytes: 20 * MiB, limitBytes: 64 * MiB, cacheBytes: 4 * MiB },
    pids: { current: 3, limit: null },
    blkio: { readBytes: 0, writeBytes: 0 },
  };
}

function startServer() {
  const { t, p, calls: inputs } = testTrpc();
  const event: ContainerEvent = {
    timeNano: "1795811001123456789",
    type: "container",
    action: "die",
    id: ID,
    name: "web",
    image: "busybox",
    node: "node-1",
    exitCode: 0,
  };
  const router = t.router({
    nodes: t.router({ list: p.query(() => []) }),
    containers: t.router({
      list: p.input(ListContainersInputSchema).query(() => []),
      events: p.input(ContainerEventsInputSchema).subscription(async function* ({ signal }) {
        yield event;
        yield { ...event, action: "destroy", exitCode: undefined };
        // Then stays open, as the real one does, until the client leaves.
        await new Promise((r) => signal?.addEventListener("abort", r, { once: true }));
      }),
      statsStream: p.input(ContainerStatsStreamInputSchema).subscription(async function* ({
        signal,
      }) {
        for (let n = 1; !signal?.aborted; n++) {
          yield { samples: [{ id: ID, name: "web", stats: sample(n) }] };
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    }),
  });
  return { server: trpcServer(router), inputs };
}

describe("berth events / stats streaming over SSE on 127.0.0.1", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-streams-");

  /** Runs the CLI and "presses Ctrl-C" once `done(stdout)` holds (or after 10 s). */
  async function berthUntil(argv: string[], done: (stdout: string) => boolean) {
    let interrupt: (() => void) | undefined;
    const deadline = setTimeout(() => interrupt?.(), 10_000);
    try {
      return await runBerth(argv, env, {
        onStdout: (stdout) => {
          if (done(stdout)) interrupt?.();
        },
        onInterrupt: (handler) => {
          interrupt = handler;
          return () => (interrupt = undefined);
        },
      });
    } finally {
      clearTimeout(deadline);
    }
  }

  it("events prints docker's lines and sends the container filter", async () => {
    srv.inputs.length = 0;
    const r = await berthUntil(
      ["events", "--filter", "container=web"],
      (out) => out.split("\n").length > 2,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      `2026-11-27T20:23:21.123456789Z container die ${ID} (exitCode=0, image=busybox, name=web, node=node-1)`,
      `2026-11-27T20:23:21.123456789Z container destroy ${ID} (image=busybox, name=web, node=node-1)`,
      "",
    ]);
    expect(srv.inputs.find((c) => c.path === "containers.events")?.input).toEqual({
      containers: ["web"],
    });
  });

  it("events --json prints one JSON message per line", async () => {
    const r = await berthUntil(["events", "--json"], (out) => out.includes("destroy"));
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { Action: string }).Action)).toEqual([
      "die",
      "destroy",
    ]);
  });

  it("events --since/--until send RFC 3339 times and the event filter", async () => {
    srv.inputs.length = 0;
    const r = await berthUntil(
      ["events", "--since", "1700000000", "--until", "2023-11-14T22:23:20Z", "-f", "event=die"],
      (out) => out.includes("destroy"),
    );
    expect(r.code).toBe(0);
    expect(srv.inputs.find((c) => c.path === "containers.events")?.input).toEqual({
      events: ["die"],
      since: "2023-11-14T22:13:20.000000000Z",
      until: "2023-11-14T22:23:20Z",
    });
  });

  it("events refuses a bad --since clearly", async () => {
    const r = await berthUntil(["events", "--since", "last tuesday"], () => true);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid argument "last tuesday" for "--since" flag');
  });

  it("stats streams: redraws the table each round with CPU % from consecutive samples", async () => {
    srv.inputs.length = 0;
    const r = await berthUntil(["stats", "web"], (out) => out.split(CLEAR_SCREEN).length > 3);
    expect(r.code).toBe(0);
    const frames = r.stdout.split(CLEAR_SCREEN).slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(frames[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %/);
    expect(frames[0]).toMatch(/\ncccccccccccc\s+web\s+0\.00%\s+16MiB \/ 64MiB\s+25\.00%/);
    // +0.1 s container CPU per +1 s host CPU on 2 CPUs: 20 %
    expect(frames[1]).toMatch(/\ncccccccccccc\s+web\s+20\.00%/);
    expect(srv.inputs.find((c) => c.path === "containers.statsStream")?.input).toEqual({
      refs: ["web"],
    });
  });

  it("stats --format json streams one JSON object per container per round", async () => {
    srv.inputs.length = 0;
    const r = await berthUntil(["stats", "--format", "json"], (out) => out.split("\n").length > 3);
    const objs = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { ID: string; CPUPerc: string });
    expect(objs.length).toBeGreaterThanOrEqual(3);
    expect(objs[0]).toMatchObject({ ID: ID.slice(0, 12), CPUPerc: "0.00%" });
    expect(objs[1]).toMatchObject({ ID: ID.slice(0, 12), CPUPerc: "20.00%" });
    expect(srv.inputs.find((c) => c.path === "containers.statsStream")?.input).toEqual({});
  });
});
