/**
 * bench/fleet's server side (a child of bench/fleet.ts, IPC on stdio): the real berth-server
 * HTTP app and agent gateway (no dashboard) on 127.0.0.1, over a fresh SQLite database with the
 * bench's nodes inserted (credential digests only). On the parent's `drive` message it sends
 * `volume.list` commands to random connected agents at a fixed rate through the gateway (the
 * path every service uses) and reports each round trip, measured here from send to result.
 *
 *   spawned by bench/fleet.ts: node --import tsx bench/fleet-server.ts <dataDir> <nodesFile>
 */
import { createServer } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { nodes, openDb } from "@berth/db";
import { AgentGateway } from "../apps/web/src/server/agents/gateway";
import { bootstrapDatabase } from "../apps/web/src/server/bootstrap";
import { createHttpApp } from "../apps/web/src/server/http-app";
import { ServerMetrics } from "../apps/web/src/server/metrics";
import { appRouter } from "../apps/web/src/server/root";
import { sha256Hex } from "../apps/web/src/server/security";
import { createServices } from "../apps/web/src/server/services";
import { BENCH_SERVER_ID, type BenchNode, type ToServer, type FromServer } from "./fleet-protocol";

const [dataDir, nodesFile] = process.argv.slice(2);
if (!dataDir || !nodesFile) throw new Error("usage: fleet-server.ts <dataDir> <nodesFile>");
const say = (m: FromServer) => process.send!(m);

const db = openDb({ path: join(dataDir, "berth.db") });
const boot = await bootstrapDatabase(db, { adminUser: "admin", adminPassword: "bench-password" });
const fleet = JSON.parse(readFileSync(nodesFile, "utf8")) as BenchNode[];
db.transaction((tx) => {
  for (let i = 0; i < fleet.length; i += 500)
    tx.insert(nodes)
      .values(
        fleet.slice(i, i + 500).map((n) => ({
          id: n.id,
          name: n.name,
          credentialHash: sha256Hex(n.secret),
        })),
      )
      .run();
});

const gateway = new AgentGateway({
  db,
  serverId: BENCH_SERVER_ID,
  logger: { info: () => undefined, warn: (m) => console.warn(`fleet-server: ${m}`) },
});
const services = createServices({ db, gateway, publicUrl: "http://127.0.0.1:1", version: "bench" });
const app = createHttpApp({
  db,
  gateway,
  services,
  serverId: BENCH_SERVER_ID,
  defaultTeamId: boot.defaultTeamId,
  secureCookies: false,
  // counted as in production (every request and command goes through the metrics)
  metrics: {
    metrics: new ServerMetrics(gateway, Object.keys(appRouter._def.procedures)),
    access: { allowLoopback: true },
  },
});
const server = createServer((req, res) => {
  if (!app.handleRequest(req, res)) res.writeHead(404).end();
});
server.on("upgrade", (req, socket, head) => {
  socket.on("error", () => socket.destroy());
  if (!app.handleUpgrade(req, socket, head)) socket.destroy();
});
await new Promise<void>((r) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, r));
say({ type: "listening", port: (server.address() as AddressInfo).port });

/** Sends `count` commands at `ratePerSecond` to random connected agents; reports round trips. */
async function drive(count: number, ratePerSecond: number): Promise<void> {
  const ids = fleet.map((n) => n.id).filter((id) => gateway.isOnline(id));
  const rtts: number[] = [];
  let failures = 0;
  const inFlight: Promise<void>[] = [];
  const gap = 1000 / ratePerSecond;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + i * gap;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    const started = performance.now();
    inFlight.push(
      gateway.send(id, "volume.list", {}, { timeoutMs: 10_000 }).then(
        () => void rtts.push(performance.now() - started),
        () => void failures++,
      ),
    );
  }
  await Promise.all(inFlight);
  loop.disable();
  say({
    type: "driven",
    rttsMs: rtts,
    failures,
    seconds: (performance.now() - t0) / 1000,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
  });
}

process.on("message", (m: ToServer) => {
  if (m.type === "count") say({ type: "count", connected: gateway.connectedCount });
  if (m.type === "drive") void drive(m.count, m.ratePerSecond);
  if (m.type === "stop")
    void gateway.close().then(() => {
      server.closeAllConnections();
      server.close();
      db.$client.close();
      process.exit(0);
    });
});
