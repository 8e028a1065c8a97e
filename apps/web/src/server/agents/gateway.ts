/**
 * The agent gateway: one WebSocket per node (the agent dials out), protocol v1.
 *
 * Lifecycle of a session: upgrade authenticated by the node credential (401 before upgrading
 * otherwise) → the agent's `hello` (facts + full inventory) → reconcile with the containers table
 * and answer `welcome` → commands (`send`, `stream`) correlated by id, events applied and acked,
 * heartbeats kept in memory → close (node offline). A new connection of a node replaces the old.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import {
  CommandSchemas,
  DomainError,
  HeartbeatFrameSchema,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  StreamInputFrameSchema,
  newId,
  parseAgentFrame,
  parseEventData,
  type AgentFrame,
  type CommandName,
  type CommandParamsInput,
  type CommandResult,
  type ContainerStatus,
  type HelloFrame,
  type NodeMetrics,
  type ServerFrame,
  type StreamInputBody,
  type UsageSample,
} from "@berth/core";
import { and, containers, eq, lt, nodes, type ContainerRow, type Db } from "@berth/db";
import { z } from "zod";
import { applyContainerStatus } from "./container-state";
import { ContainerEventBus, type ContainerChange } from "./container-events";
import { authenticateNode } from "./node-auth";

/** What /metrics learns from the gateway as commands go out and come back. */
export interface GatewayObserver {
  commandStarted(name: CommandName): void;
  commandFinished(name: CommandName, seconds: number, outcome: "ok" | "error" | "timeout"): void;
}

export interface GatewayLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface AgentGatewayOptions {
  db: Db;
  /** Stable identity of this server, sent in `welcome`. */
  serverId: string;
  events?: ContainerEventBus;
  heartbeatIntervalMs?: number;
  /** Rows stuck in `creating` longer than this, unknown to their agent at hello, become dead. */
  creatingGraceMs?: number;
  logger?: GatewayLogger;
}

export interface SendOptions {
  timeoutMs?: number;
}

interface PendingCommand {
  name: CommandName;
  resolve(data: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface OpenStream {
  name: CommandName;
  push(data: unknown): void;
  end(error?: Error): void;
}

class AgentSession {
  ready = false;
  lastSeen = Date.now();
  /** The latest numbers its heartbeats carried (memory only, for /metrics). */
  metrics: NodeMetrics | undefined;
  readonly pending = new Map<string, PendingCommand>();
  readonly streams = new Map<string, OpenStream>();

  constructor(
    readonly nodeId: string,
    readonly nodeName: string,
    readonly ws: WebSocket,
    public ackedSeq: number,
  ) {}

  /** Set when the agent stopped reading (its socket buffer passed MAX_BUFFERED_BYTES). */
  overflowed = false;

  /**
   * Queues a frame; false when the socket is closed. Back-pressure: an agent that lets more
   * than MAX_BUFFERED_BYTES pile up unread is disconnected (it reconnects and reconciles)
   * rather than allowed to grow the server's memory.
   */
  send(frame: ServerFrame): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.overflowed = true;
      this.ws.terminate();
      return false;
    }
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Fails every command and stream still waiting on this connection. */
  failAll(error: DomainError): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(error);
    }
    for (const [id, s] of this.streams) {
      this.streams.delete(id);
      s.end(error);
    }
  }
}

/** Where `usage` frames go (modules/usage, wired by createServices). */
export interface UsageSink {
  /** Highest usage seq stored for the node, announced in `welcome`. */
  ackedSeq(nodeId: string): number;
  /** Stores a batch (skipping repeats); returns the seq to ack. */
  ingest(nodeId: string, samples: UsageSample[]): number;
}

const DEFAULT_HEARTBEAT_MS = 5000;
/** Unsent bytes an agent connection may hold before it is dropped (> an upload window + a frame). */
export const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
/** Commands one agent may have unanswered at once. */
export const MAX_PENDING_COMMANDS = 4096;
const MISSED_HEARTBEATS = 3;

/**
 * parseAgentFrame, with a fast path for the most frequent frame: a heartbeat (one every few
 * seconds from every agent) is checked against its own schema, not tried against the union.
 */
function parseFrame(text: string): ReturnType<typeof parseAgentFrame> {
  if (!text.startsWith('{"type":"heartbeat"') || text.length > 64 * 1024)
    return parseAgentFrame(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseAgentFrame(text);
  }
  const r = HeartbeatFrameSchema.safeParse(value);
  return r.success ? { ok: true, frame: r.data } : parseAgentFrame(value);
}

export class AgentGateway {
  readonly events: ContainerEventBus;
  private readonly db: Db;
  private readonly serverId: string;
  private readonly heartbeatIntervalMs: number;
  private readonly creatingGraceMs: number;
  private readonly log: GatewayLogger;
  private readonly sessions = new Map<string, AgentSession>();
  private readonly wss: WebSocketServer;
  private readonly watchdog: NodeJS.Timeout;
  private closed = false;
  private usage: UsageSink | undefined;

  constructor(opts: AgentGatewayOptions) {
    this.db = opts.db;
    this.serverId = opts.serverId;
    this.events = opts.events ?? new ContainerEventBus({ db: opts.db });
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
    this.creatingGraceMs = opts.creatingGraceMs ?? 60_000;
    this.log = opts.logger ?? { info: (m) => console.log(m), warn: (m) => console.warn(m) };
    // Per connection: frames up to MAX_FRAME_BYTES, no compression contexts, no tracking set
    // (sessions are tracked here), and a bounded send buffer (AgentSession.send).
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.watchdog = setInterval(() => this.closeSilentSessions(), this.heartbeatIntervalMs);
    this.watchdog.unref();
  }

  /** Accepts usage samples from now on (agents keep them until a server with a sink acks). */
  setUsageSink(sink: UsageSink): void {
    this.usage = sink;
  }

  private observer: GatewayObserver | undefined;
  /** Reports every command sent (and how it ended) from now on: the server's /metrics. */
  setObserver(observer: GatewayObserver): void {
    this.observer = observer;
  }

  /** The latest heartbeat numbers of each connected node. */
  nodeMetrics(): { nodeId: string; nodeName: string; metrics: NodeMetrics }[] {
    const out: { nodeId: string; nodeName: string; metrics: NodeMetrics }[] = [];
    for (const s of this.sessions.values())
      if (s.ready && s.metrics)
        out.push({ nodeId: s.nodeId, nodeName: s.nodeName, metrics: s.metrics });
    return out;
  }

  /** Agents connected and past `hello`. */
  get connectedCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.ready) n++;
    return n;
  }

  isOnline(nodeId: string): boolean {
    return this.sessions.get(nodeId)?.ready === true;
  }

  /** Handles an HTTP upgrade on the agent path: authenticates first, answers 401 without upgrading. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node's HTTP server drops its own error listener from an upgraded socket: without this one a
    // client that resets the connection (after a 401, mid-handshake) would be an uncaught error.
    socket.on("error", () => socket.destroy());
    let node: ReturnType<typeof authenticateNode> = null;
    try {
      node = this.closed ? null : authenticateNode(this.db, req.headers.authorization);
    } catch (e) {
      this.log.warn(`agent upgrade: credential check failed: ${(e as Error).message}`);
    }
    if (!node) {
      const body = JSON.stringify({
        error: { kind: "unauthenticated", message: "invalid or missing node credential" },
      });
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.attach(node.id, node.name, node.ackedSeq, ws),
    );
  }

  private attach(nodeId: string, nodeName: string, ackedSeq: number, ws: WebSocket): void {
    const previous = this.sessions.get(nodeId);
    const session = new AgentSession(nodeId, nodeName, ws, ackedSeq);
    this.sessions.set(nodeId, session);
    if (previous) {
      this.log.info(`agent ${nodeName} (${nodeId}) reconnected: replacing its previous connection`);
      previous.failAll(
        new DomainError("unavailable", `node ${nodeName} reconnected before answering`),
      );
      previous.ws.close(4000, "replaced by a new connection");
    }
    ws.on("message", (data, isBinary) => this.onMessage(session, data, isBinary));
    ws.on("close", () => this.onClose(session));
    ws.on("error", (err) =>
      this.log.warn(`agent ${nodeName} (${nodeId}): socket error: ${err.message}`),
    );
  }

  private onMessage(session: AgentSession, data: RawData, isBinary: boolean): void {
    session.lastSeen = Date.now();
    if (isBinary) {
      session.send({
        type: "error",
        error: { kind: "invalid_input", message: "binary frames are not part of protocol v1" },
      });
      return;
    }
    // ws hands over a Buffer: decode it in place (Buffer.from would copy it first).
    const text = Buffer.isBuffer(data)
      ? data.toString("utf8")
      : Array.isArray(data)
        ? Buffer.concat(data).toString("utf8")
        : Buffer.from(data).toString("utf8");
    const parsed = parseFrame(text);
    if (!parsed.ok) {
      session.send({ type: "error", error: parsed.error });
      return;
    }
    try {
      this.onFrame(session, parsed.frame);
    } catch (e) {
      // A frame that breaks a handler is answered, never allowed to crash the server.
      const message = e instanceof Error ? e.message : String(e);
      this.log.warn(`agent ${session.nodeName}: ${parsed.frame.type} frame failed: ${message}`);
      session.send({
        type: "error",
        error: { kind: "internal", message: message.slice(0, 16_384) },
        ref: parsed.frame.type,
      });
    }
  }

  private onFrame(session: AgentSession, frame: AgentFrame): void {
    if (frame.type === "hello") return this.onHello(session, frame);
    if (!session.ready) {
      session.send({
        type: "error",
        error: { kind: "invalid_state", message: "expected a hello frame first" },
        ref: frame.type,
      });
      return;
    }
    switch (frame.type) {
      case "heartbeat":
        // lastSeen is already updated; no database write per heartbeat
        if (frame.metrics) session.metrics = frame.metrics;
        return;
      case "result": {
        const p = session.pending.get(frame.id);
        if (p) {
          session.pending.delete(frame.id);
          clearTimeout(p.timer);
          if (frame.ok) p.resolve(frame.data);
          else p.reject(DomainError.fromBody(frame.error));
          return;
        }
        const s = session.streams.get(frame.id);
        if (s) {
          session.streams.delete(frame.id);
          if (frame.ok) s.end();
          else s.end(DomainError.fromBody(frame.error));
          return;
        }
        this.log.warn(`agent ${session.nodeName}: result for unknown command ${frame.id}`);
        return;
      }
      case "stream": {
        const s = session.streams.get(frame.id);
        if (!s) {
          session.send({ type: "cancel", id: frame.id });
          return;
        }
        const r = CommandSchemas[s.name].result.safeParse(frame.data);
        if (!r.success) {
          session.send({
            type: "error",
            error: {
              kind: "invalid_input",
              message: `invalid ${s.name} chunk: ${z.prettifyError(r.error)}`,
            },
            ref: frame.id,
          });
          return;
        }
        s.push(r.data);
        return;
      }
      case "stream_end": {
        const s = session.streams.get(frame.id);
        if (!s) return;
        session.streams.delete(frame.id);
        s.end(frame.error ? DomainError.fromBody(frame.error) : undefined);
        return;
      }
      case "event":
        return this.onEvent(session, frame);
      case "usage": {
        if (!this.usage) return; // not announced in welcome: the agent never sends it
        session.send({ type: "usage_ack", seq: this.usage.ingest(session.nodeId, frame.samples) });
        return;
      }
      case "error": {
        const p = frame.ref ? session.pending.get(frame.ref) : undefined;
        if (p && frame.ref) {
          session.pending.delete(frame.ref);
          clearTimeout(p.timer);
          p.reject(DomainError.fromBody(frame.error));
          return;
        }
        const s = frame.ref ? session.streams.get(frame.ref) : undefined;
        if (s && frame.ref) {
          session.streams.delete(frame.ref);
          s.end(DomainError.fromBody(frame.error));
          return;
        }
        this.log.warn(
          `agent ${session.nodeName} reported: ${frame.error.kind}: ${frame.error.message}`,
        );
        return;
      }
    }
  }

  private onHello(session: AgentSession, hello: HelloFrame): void {
    if (hello.nodeId !== session.nodeId) {
      session.send({
        type: "error",
        error: {
          kind: "forbidden",
          message: `hello names node ${hello.nodeId} but the credential is node ${session.nodeId}`,
        },
        ref: "hello",
      });
      session.ws.close(4003, "node id mismatch");
      return;
    }
    const changes = this.reconcile(session, hello);
    const node = this.db
      .select({ ackedSeq: nodes.ackedSeq })
      .from(nodes)
      .where(eq(nodes.id, session.nodeId))
      .get();
    session.ackedSeq = node?.ackedSeq ?? 0;
    session.ready = true;
    session.send({
      type: "welcome",
      protocol: PROTOCOL_VERSION,
      serverId: this.serverId,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      ackedSeq: session.ackedSeq,
      ...(this.usage ? { usageAckedSeq: this.usage.ackedSeq(session.nodeId) } : {}),
    });
    for (const c of changes) this.events.publish(c);
    this.log.info(
      `agent ${session.nodeName} (${session.nodeId}) online: ${hello.inventory.length} container(s) reported`,
    );
  }

  /**
   * The agent's inventory wins: known rows take its state; rows it does not know become dead
   * (rows still `creating` only once older than the grace period, since a run may be in flight);
   * containers the server does not know are left alone and logged.
   */
  private reconcile(session: AgentSession, hello: HelloFrame): ContainerChange[] {
    const changes: ContainerChange[] = [];
    const now = new Date();
    this.db.transaction((tx) => {
      const db = tx as unknown as Db;
      db.update(nodes)
        .set({
          facts: hello.facts,
          status: "online",
          lastSeenAt: now,
          agentVersion: hello.facts.agentVersion,
        })
        .where(eq(nodes.id, session.nodeId))
        .run();
      const inventory = new Map<string, ContainerStatus>(hello.inventory.map((c) => [c.id, c]));
      const rows = db.select().from(containers).where(eq(containers.nodeId, session.nodeId)).all();
      for (const row of rows) {
        const status = inventory.get(row.id);
        inventory.delete(row.id);
        let updated: ContainerRow | null | undefined;
        if (status) {
          updated = applyContainerStatus(db, session.nodeId, status);
        } else if (row.state === "creating") {
          if (now.getTime() - row.createdAt.getTime() > this.creatingGraceMs) {
            updated = this.markDead(db, row.id, "the node never created this container");
          }
        } else if (row.state !== "dead") {
          updated = this.markDead(db, row.id, "the node no longer has this container");
        }
        if (updated) changes.push({ type: "updated", containerId: row.id, row: updated });
      }
      for (const unknown of inventory.values()) {
        this.log.warn(
          `agent ${session.nodeName} runs container ${unknown.name} (${unknown.id.slice(0, 12)}) unknown to the server: leaving it`,
        );
      }
    });
    return changes;
  }

  private markDead(db: Db, id: string, error: string): ContainerRow | undefined {
    return db
      .update(containers)
      .set({ state: "dead", error, pid: null, finishedAt: new Date() })
      .where(eq(containers.id, id))
      .returning()
      .get();
  }

  private onEvent(session: AgentSession, frame: Extract<AgentFrame, { type: "event" }>): void {
    if (frame.seq <= session.ackedSeq) {
      // Already stored (a redelivery after reconnect): ack again so the agent drops it.
      session.send({ type: "ack", seq: session.ackedSeq });
      return;
    }
    const parsed = parseEventData(frame.name, frame.data);
    if (!parsed.success) {
      session.send({
        type: "error",
        error: {
          kind: "invalid_input",
          message: `invalid ${frame.name} event: ${z.prettifyError(parsed.error)}`,
        },
        ref: "event",
      });
      return;
    }
    let change: ContainerChange | null = null;
    this.db.transaction((tx) => {
      const db = tx as unknown as Db;
      if (frame.name === "container.removed") {
        const { id } = parsed.data as { id: string };
        const gone = db
          .delete(containers)
          .where(and(eq(containers.id, id), eq(containers.nodeId, session.nodeId)))
          .returning()
          .get();
        if (gone) change = { type: "removed", containerId: id, row: gone, event: frame.name };
      } else {
        const status = parsed.data as ContainerStatus;
        const row = applyContainerStatus(db, session.nodeId, status);
        if (row) change = { type: "updated", containerId: row.id, row, event: frame.name };
        else
          this.log.warn(
            `agent ${session.nodeName}: ${frame.name} for container ${status.id.slice(0, 12)} unknown to the server`,
          );
      }
      db.update(nodes)
        .set({ ackedSeq: frame.seq })
        .where(and(eq(nodes.id, session.nodeId), lt(nodes.ackedSeq, frame.seq)))
        .run();
    });
    session.ackedSeq = frame.seq;
    session.send({ type: "ack", seq: frame.seq });
    if (change) this.events.publish(change);
  }

  private onClose(session: AgentSession): void {
    session.failAll(new DomainError("unavailable", `node ${session.nodeName} disconnected`));
    if (this.sessions.get(session.nodeId) !== session) return; // replaced: the new session owns the node
    this.sessions.delete(session.nodeId);
    this.markOffline(session.nodeId);
    this.log.info(
      `agent ${session.nodeName} (${session.nodeId}) offline${session.overflowed ? `: it left more than ${MAX_BUFFERED_BYTES} bytes unread` : ""}`,
    );
  }

  private markOffline(nodeId: string): void {
    try {
      this.db
        .update(nodes)
        .set({ status: "offline", lastSeenAt: new Date() })
        .where(eq(nodes.id, nodeId))
        .run();
    } catch (e) {
      this.log.warn(`could not mark node ${nodeId} offline: ${(e as Error).message}`);
    }
  }

  private closeSilentSessions(): void {
    const limit = Date.now() - MISSED_HEARTBEATS * this.heartbeatIntervalMs;
    for (const s of this.sessions.values()) {
      if (s.lastSeen < limit) {
        this.log.warn(
          `agent ${s.nodeName} (${s.nodeId}) silent for ${MISSED_HEARTBEATS} heartbeat intervals: closing`,
        );
        s.ws.terminate();
      }
    }
  }

  private readySession(nodeId: string): AgentSession {
    const s = this.sessions.get(nodeId);
    if (!s?.ready) {
      const row = this.db
        .select({ name: nodes.name })
        .from(nodes)
        .where(eq(nodes.id, nodeId))
        .get();
      throw new DomainError("unavailable", `node ${row?.name ?? nodeId} is offline`);
    }
    return s;
  }

  private commandFrame<N extends CommandName>(name: N, params: CommandParamsInput<N>) {
    const r = CommandSchemas[name].params.safeParse(params);
    if (!r.success)
      throw new DomainError(
        "invalid_input",
        `invalid ${name} parameters: ${z.prettifyError(r.error)}`,
      );
    return { type: "command" as const, id: newId(), name, params: r.data };
  }

  /** Sends a command and resolves with its validated result (DomainError on failure, offline node or timeout). */
  send<N extends CommandName>(
    nodeId: string,
    name: N,
    params: CommandParamsInput<N>,
    { timeoutMs = 30_000 }: SendOptions = {},
  ): Promise<CommandResult<N>> {
    let session: AgentSession;
    let frame: ReturnType<AgentGateway["commandFrame"]>;
    try {
      session = this.readySession(nodeId);
      frame = this.commandFrame(name, params);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (session.pending.size >= MAX_PENDING_COMMANDS)
      return Promise.reject(
        new DomainError(
          "unavailable",
          `node ${session.nodeName} has ${MAX_PENDING_COMMANDS} commands unanswered: try again shortly`,
        ),
      );
    const observer = this.observer;
    if (!observer) return this.deliver(session, frame, name, timeoutMs);
    const started = performance.now();
    observer.commandStarted(name);
    const p = this.deliver(session, frame, name, timeoutMs);
    p.then(
      () => observer.commandFinished(name, (performance.now() - started) / 1000, "ok"),
      (e: unknown) =>
        observer.commandFinished(
          name,
          (performance.now() - started) / 1000,
          (e as DomainError).kind === "timeout" ? "timeout" : "error",
        ),
    );
    return p;
  }

  private deliver<N extends CommandName>(
    session: AgentSession,
    frame: ReturnType<AgentGateway["commandFrame"]>,
    name: N,
    timeoutMs: number,
  ): Promise<CommandResult<N>> {
    return new Promise<CommandResult<N>>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.pending.delete(frame.id);
        session.send({ type: "cancel", id: frame.id });
        reject(
          new DomainError(
            "timeout",
            `node ${session.nodeName} did not answer ${name} within ${Math.round(timeoutMs / 1000)} s`,
          ),
        );
      }, timeoutMs);
      session.pending.set(frame.id, {
        name,
        timer,
        reject,
        resolve: (data) => {
          const r = CommandSchemas[name].result.safeParse(data);
          if (r.success) resolve(r.data as CommandResult<N>);
          else
            reject(
              new DomainError(
                "internal",
                `node ${session.nodeName} sent an invalid ${name} result: ${z.prettifyError(r.error)}`,
              ),
            );
        },
      });
      if (!session.send(frame)) {
        clearTimeout(timer);
        session.pending.delete(frame.id);
        reject(new DomainError("unavailable", `node ${session.nodeName} disconnected`));
      }
    });
  }

  /**
   * Runs a stream command: yields each validated chunk until `stream_end`. Aborting `signal`, or
   * leaving the loop early, sends `cancel` to the agent. `onOpen` gets the stream's command id
   * once the command is sent (for `streamInput`), synchronously within the first `next()`.
   */
  async *stream<N extends CommandName>(
    nodeId: string,
    name: N,
    params: CommandParamsInput<N>,
    signal?: AbortSignal,
    opts: { onOpen?: (streamId: string) => void } = {},
  ): AsyncGenerator<CommandResult<N>, void, undefined> {
    const session = this.readySession(nodeId);
    // Open streams count against the same per-agent limit as unanswered commands.
    if (session.pending.size + session.streams.size >= MAX_PENDING_COMMANDS)
      throw new DomainError(
        "unavailable",
        `node ${session.nodeName} has ${MAX_PENDING_COMMANDS} commands and streams open: try again shortly`,
      );
    const frame = this.commandFrame(name, params);
    const queue: CommandResult<N>[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    session.streams.set(frame.id, {
      name,
      push: (data) => {
        queue.push(data as CommandResult<N>);
        notify();
      },
      end: (error) => {
        done = true;
        failure = error;
        notify();
      },
    });
    const onAbort = () => {
      done = true;
      notify();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) return;
      if (!session.send(frame))
        throw new DomainError("unavailable", `node ${session.nodeName} disconnected`);
      opts.onOpen?.(frame.id);
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (done) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // Still registered means the agent has not ended it: the consumer left early or aborted.
      if (session.streams.delete(frame.id)) session.send({ type: "cancel", id: frame.id });
    }
  }

  /**
   * Sends input (stdin data as base64, eof, a terminal resize; `ack` of consumed `image.save`
   * bytes) to a running stream command of
   * the node, in order with everything else sent on its socket. `not_found` when the stream has
   * ended (or never existed on that node's current connection).
   */
  streamInput(nodeId: string, streamId: string, input: StreamInputBody & { ack?: number }): void {
    const session = this.readySession(nodeId);
    if (!session.streams.has(streamId))
      throw new DomainError("not_found", "the exec session has ended");
    const frame = StreamInputFrameSchema.safeParse({
      ...input,
      type: "stream_input",
      id: streamId,
    });
    if (!frame.success)
      throw new DomainError("invalid_input", `invalid input: ${z.prettifyError(frame.error)}`);
    if (!session.send(frame.data))
      throw new DomainError("unavailable", `node ${session.nodeName} disconnected`);
  }

  /** Closes the node's connection, if any (its commands fail with `reason`). */
  disconnect(nodeId: string, reason: string): void {
    const s = this.sessions.get(nodeId);
    if (!s) return;
    this.sessions.delete(nodeId);
    s.failAll(new DomainError("unavailable", reason));
    s.ws.close(4001, reason.slice(0, 120));
    this.markOffline(nodeId);
  }

  /** Closes every agent connection (nodes go offline) and stops accepting new ones. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    for (const s of [...this.sessions.values()]) {
      this.sessions.delete(s.nodeId);
      s.failAll(new DomainError("unavailable", "berth-server is shutting down"));
      s.ws.close(1001, "server shutting down");
      this.markOffline(s.nodeId);
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
