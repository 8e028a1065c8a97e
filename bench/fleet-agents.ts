/**
 * bench/fleet's simulated agents (a child of bench/fleet.ts, IPC on stdio): light clients that
 * speak the real protocol v1 (frames built and checked with the core schemas) — one WebSocket
 * each with its node credential, `hello` with facts and an empty inventory, a heartbeat every
 * `welcome.heartbeatIntervalMs` (first one at a random offset so they spread), and a result for
 * every command. For load only: they run no containers.
 *
 *   spawned by bench/fleet.ts: node --import tsx bench/fleet-agents.ts <port> <nodesFile> <from> <to>
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import {
  AgentFrameSchema,
  PROTOCOL_VERSION,
  parseServerFrame,
  type AgentFrame,
  type NodeFacts,
} from "@berth/core";
import type { BenchNode, FromAgents, ToAgents } from "./fleet-protocol";

const [portArg, nodesFile, fromArg, toArg] = process.argv.slice(2);
const port = Number(portArg);
const fleet = (JSON.parse(readFileSync(nodesFile!, "utf8")) as BenchNode[]).slice(
  Number(fromArg),
  Number(toArg),
);
const say = (m: FromAgents) => process.send!(m);

const facts: NodeFacts = {
  hostname: "sim",
  kernel: "6.1.0",
  os: "Debian GNU/Linux 12",
  arch: "x86_64",
  cpus: 2,
  memoryBytes: 4 * 1024 ** 3,
  cgroup: { version: 2, mode: "unified", parent: "/berth" },
  // Simulated agents report facts; nothing runs this path (it is what a Debian host would say).
  runtime: { name: "runc", version: "1.1.5", path: "/usr/sbin/runc" },
  monitor: { name: "conmon", version: "2.1.6" },
  agentVersion: "0.1.0-sim",
};

// Every frame kind the simulator sends is checked once against the protocol's schema.
const checked = new Set<string>();
function frame(f: AgentFrame): string {
  if (!checked.has(f.type)) {
    AgentFrameSchema.parse(f);
    checked.add(f.type);
  }
  return JSON.stringify(f);
}

let heartbeats = 0;
let commands = 0;
let closed = 0;
const sockets: WebSocket[] = [];
const timers: NodeJS.Timeout[] = [];

function connect(node: BenchNode): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/agent`, {
      headers: { authorization: `Bearer ${node.id}.${node.secret}` },
      perMessageDeflate: false,
    });
    sockets.push(ws);
    let welcomed = false;
    ws.on("open", () =>
      ws.send(
        frame({
          type: "hello",
          protocol: PROTOCOL_VERSION,
          nodeId: node.id,
          facts,
          capabilities: ["volume.list"],
          inventory: [],
        }),
      ),
    );
    ws.on("message", (data) => {
      const text = data.toString();
      // Commands are the hot path: parse them cheaply, check the first fully.
      if (welcomed && text.startsWith('{"type":"command"')) {
        const { id } = JSON.parse(text) as { id: string };
        commands++;
        ws.send(frame({ type: "result", id, ok: true, data: { volumes: [] } }));
        return;
      }
      const parsed = parseServerFrame(text);
      if (!parsed.ok) throw new Error(`server sent an invalid frame: ${parsed.error.message}`);
      const f = parsed.frame;
      if (f.type === "welcome" && !welcomed) {
        welcomed = true;
        const beat = () => {
          if (ws.readyState !== WebSocket.OPEN) return;
          heartbeats++;
          ws.send(
            frame({
              type: "heartbeat",
              ts: Date.now(),
              metrics: { containers: { running: 0 } },
            }),
          );
        };
        const first = setTimeout(() => {
          beat();
          timers.push(setInterval(beat, f.heartbeatIntervalMs));
        }, Math.random() * f.heartbeatIntervalMs);
        timers.push(first);
        resolve(true);
      } else if (f.type === "command") {
        commands++;
        ws.send(frame({ type: "result", id: f.id, ok: true, data: { volumes: [] } }));
      }
    });
    ws.on("unexpected-response", (_req, res) => {
      console.error(`fleet-agents: ${node.name}: upgrade refused (${res.statusCode})`);
      resolve(false);
    });
    ws.on("error", (e) => {
      if (!welcomed) {
        console.error(`fleet-agents: ${node.name}: ${e.message}`);
        resolve(false);
      }
    });
    ws.on("close", () => {
      if (welcomed) closed++;
    });
  });
}

const t0 = performance.now();
let ok = 0;
let failed = 0;
// Connect in waves so the listen backlog never overflows.
const WAVE = 250;
for (let i = 0; i < fleet.length; i += WAVE) {
  const results = await Promise.all(fleet.slice(i, i + WAVE).map(connect));
  for (const r of results)
    if (r) ok++;
    else failed++;
}
say({ type: "connected", agents: ok, failed, seconds: (performance.now() - t0) / 1000 });

const report = setInterval(() => say({ type: "stats", heartbeats, commands, closed }), 1000);
process.on("message", (m: ToAgents) => {
  if (m.type !== "stop") return;
  clearInterval(report);
  for (const t of timers) clearTimeout(t);
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});
