/**
 * Test-only: a real HTTP + `ws` server on 127.0.0.1 that plays berth-server's side of protocol v1
 * (join endpoint, authenticated upgrade on /api/agent, frames validated with the core schemas).
 * It tests the agent's protocol client; it runs no containers.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, parseAgentFrame, type AgentFrame } from "@berth/core";
import type { StoredCredential } from "../credentials";

export interface ServerConn {
  ws: WebSocket;
  n: number;
  openedAt: number;
  authorization: string | undefined;
  frames: AgentFrame[];
  /** Frames that failed parseAgentFrame, and socket errors (must stay empty: valid frames only). */
  invalid: string[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  sendRaw(text: string): void;
  welcome(o?: { serverId?: string; ackedSeq?: number; heartbeatIntervalMs?: number }): void;
  waitFor<T extends AgentFrame = AgentFrame>(
    pred: (f: AgentFrame) => boolean,
    timeoutMs?: number,
  ): Promise<T>;
}

export class ProtocolTestServer {
  readonly serverId = "srv_test_identity";
  readonly credential = "node1.secret-credential-value";
  readonly nodeId = "node1";
  /** HTTP status to refuse upgrades with (e.g. 401), or undefined to accept valid credentials. */
  refuseUpgradeWith: number | undefined;
  /** Sends welcome automatically on hello (with these options) unless set to false. */
  autoWelcome: false | { serverId?: string; ackedSeq?: number; heartbeatIntervalMs?: number } = {};
  /** What POST /api/agent/join does. */
  joinHandler: (body: unknown) => { status: number; body: unknown } = () => ({
    status: 404,
    body: { error: { kind: "not_found", message: "no join here" } },
  });
  joinRequests: unknown[] = [];
  upgradeAttempts: { at: number; authorization: string | undefined; refused: boolean }[] = [];
  readonly conns: ServerConn[] = [];
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private connWaiters: ((c: ServerConn) => void)[] = [];
  port = 0;

  constructor() {
    this.http = createServer((req, res) => {
      if (req.method === "POST" && req.url === "/api/agent/join") {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (body += c));
        req.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = body;
          }
          this.joinRequests.push(json);
          const r = this.joinHandler(json);
          res.writeHead(r.status, { "content-type": "application/json" });
          res.end(JSON.stringify(r.body));
        });
        return;
      }
      res.writeHead(404).end();
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    this.http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What an AgentClient needs to reach this server as node `node-one` (its url and credential). */
  clientTarget(): { serverUrl: string; credential: StoredCredential } {
    return {
      serverUrl: this.url,
      credential: {
        serverUrl: this.url,
        nodeId: this.nodeId,
        nodeName: "node-one",
        credential: this.credential,
        serverId: this.serverId,
      },
    };
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.http.address() as AddressInfo).port;
  }

  /** Next connection after the ones already seen (or the nth, 1-based, when given). */
  connection(n = this.conns.length + 1, timeoutMs = 5000): Promise<ServerConn> {
    const existing = this.conns[n - 1];
    if (existing) return Promise.resolve(existing);
    return withTimeout(
      new Promise<ServerConn>((resolve) => {
        const check = (c: ServerConn) => {
          if (c.n === n) resolve(c);
          else this.connWaiters.push(check);
        };
        this.connWaiters.push(check);
      }),
      timeoutMs,
      `connection #${n}`,
    );
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // The HTTP server removes its error listener from upgraded sockets; a client reset after a
    // refusal must not become an uncaught ECONNRESET.
    socket.on("error", () => undefined);
    const authorization = req.headers.authorization;
    const refused =
      req.url !== "/api/agent" ||
      this.refuseUpgradeWith !== undefined ||
      authorization !== `Bearer ${this.credential}`;
    this.upgradeAttempts.push({ at: Date.now(), authorization, refused });
    if (refused) {
      const status = this.refuseUpgradeWith ?? 401;
      const body = JSON.stringify({
        error: { kind: "unauthenticated", message: "unknown or revoked node credential" },
      });
      socket.end(
        `HTTP/1.1 ${status} Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, authorization));
  }

  private onConnection(ws: WebSocket, authorization: string | undefined): void {
    const frames: AgentFrame[] = [];
    const invalid: string[] = [];
    const listeners = new Set<() => void>();
    const conn: ServerConn = {
      ws,
      n: this.conns.length + 1,
      openedAt: Date.now(),
      authorization,
      frames,
      invalid,
      closed: new Promise((resolve) =>
        ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
      ),
      send: (frame) => ws.send(JSON.stringify(frame)),
      sendRaw: (text) => ws.send(text),
      welcome: (o = {}) =>
        ws.send(
          JSON.stringify({
            type: "welcome",
            protocol: PROTOCOL_VERSION,
            serverId: o.serverId ?? this.serverId,
            heartbeatIntervalMs: o.heartbeatIntervalMs ?? 60_000,
            ackedSeq: o.ackedSeq ?? 0,
          }),
        ),
      waitFor: <T extends AgentFrame>(pred: (f: AgentFrame) => boolean, timeoutMs = 5000) =>
        withTimeout(
          new Promise<T>((resolve) => {
            const check = () => {
              const hit = frames.find(pred);
              if (hit) {
                listeners.delete(check);
                resolve(hit as T);
              }
            };
            listeners.add(check);
            check();
          }),
          timeoutMs,
          "agent frame",
        ),
    };
    // A protocol violation (an oversized or malformed frame) is recorded, not an uncaught error.
    ws.on("error", (e) => invalid.push(`socket error: ${e.message}`));
    ws.on("message", (data) => {
      const text = (data as Buffer).toString("utf8");
      const r = parseAgentFrame(text);
      if (!r.ok) {
        invalid.push(text.slice(0, 500));
        return;
      }
      frames.push(r.frame);
      if (r.frame.type === "hello" && this.autoWelcome !== false) conn.welcome(this.autoWelcome);
      for (const l of [...listeners]) l();
    });
    this.conns.push(conn);
    const waiters = this.connWaiters;
    this.connWaiters = [];
    for (const w of waiters) w(conn);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}
