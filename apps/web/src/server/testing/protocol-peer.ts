/**
 * A test peer that speaks agent protocol v1 over a real WebSocket. It exercises the gateway's
 * side of the protocol; it runs no containers (the agent's own tests cover that).
 */
import WebSocket from "ws";
import { parseServerFrame, type ServerFrame } from "@berth/core";

export class ProtocolPeer {
  readonly frames: ServerFrame[] = [];
  private waiters: { match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const parsed = parseServerFrame(data.toString());
      if (!parsed.ok) throw new Error(`server sent an invalid frame: ${parsed.error.message}`);
      this.frames.push(parsed.frame);
      for (const w of [...this.waiters]) {
        if (w.match(parsed.frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(parsed.frame);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Connects; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, credential: string | null): Promise<ProtocolPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(
        url,
        credential ? { headers: { authorization: `Bearer ${credential}` } } : {},
      );
      const peer = new ProtocolPeer(ws);
      ws.once("open", () => resolve(peer));
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
      ws.once("error", reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame (already received or future) matching `match`. */
  next<T extends ServerFrame["type"]>(
    type: T,
    match: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ) {
    const test = (f: ServerFrame) =>
      f.type === type && match(f as Extract<ServerFrame, { type: T }>);
    const seen = this.frames.find(test);
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen as Extract<ServerFrame, { type: T }>);
    }
    return new Promise<Extract<ServerFrame, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${type} frame within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        match: test,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f as Extract<ServerFrame, { type: T }>);
        },
      });
    });
  }

  /** Answers command `id` with a successful result. */
  reply(id: string, data: unknown): void {
    this.send({ type: "result", id, ok: true, data });
  }

  /** Answers command `id` with an error result. */
  fail(id: string, kind: string, message: string): void {
    this.send({ type: "result", id, ok: false, error: { kind, message } });
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export const TEST_FACTS = {
  hostname: "peer",
  kernel: "6.1.0",
  os: "Debian GNU/Linux 12",
  arch: "x86_64",
  cpus: 2,
  memoryBytes: 4 * 1024 ** 3,
  cgroup: { version: 1 as const, mode: "hybrid" as const, parent: "/berth-test" },
  runtime: { name: "runc", version: "1.1.5", path: "/usr/sbin/runc" },
  monitor: { name: "conmon", version: "2.1.6" },
  agentVersion: "0.1.0",
};

/** The state a `container.run` answers with for a container now running. */
export function runningResult(id: string, name: string) {
  return {
    id,
    name,
    state: "running",
    pid: 42,
    exitCode: null,
    createdAt: "2026-01-02T03:04:05Z",
    startedAt: "2026-01-02T03:04:05Z",
    finishedAt: null,
  };
}

export function status(
  id: string,
  name: string,
  state: string,
  extra: Record<string, unknown> = {},
) {
  return {
    id,
    name,
    state,
    pid: state === "running" ? 4242 : null,
    exitCode: null,
    oomKilled: false,
    error: null,
    createdAt: "2026-01-01T00:00:00.000Z",
    startedAt: state === "created" ? null : "2026-01-01T00:00:01.000Z",
    finishedAt: null,
    ...extra,
  };
}
