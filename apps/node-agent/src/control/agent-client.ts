/**
 * The agent's end of protocol v1 (packages/core/src/protocol.ts): one WebSocket dialled out to
 * berth-server, kept up forever.
 *
 * Lifecycle of a connection:
 *   dial (Bearer credential) → open → send `hello` (facts, capabilities, inventory)
 *   → wait for `welcome` (its serverId must equal the one pinned at join time, or we close)
 *   → replay the outbox above welcome.ackedSeq → serve commands, send events and heartbeats
 *   → on close: abort this connection's streams, reconnect with backoff.
 *
 * Guarantees:
 *   - a repeated command id is answered with the first result, never run twice (LRU of promises);
 *   - an invalid frame is answered with an `error` frame and the connection stays up;
 *   - events are on disk (Outbox) before they are sent and are resent until acked;
 *   - stream output respects the socket's back-pressure;
 *   - `stream_input` frames (stdin / eof / resize of an interactive exec) go to the running
 *     stream with that id, through a StreamInputBuffer (uploads of `image.load` / `image.import`
 *     through an UploadStream, acknowledged by `{received}`); for any other id they are ignored.
 */
import WebSocket, { type RawData } from "ws";
import {
  CommandSchemas,
  DomainError,
  IMAGE_SAVE_CHUNK_BYTES,
  IMAGE_SAVE_WINDOW_BYTES,
  IMAGE_UPLOAD_ACK_BYTES,
  IMAGE_UPLOAD_WINDOW_BYTES,
  MAX_FRAME_BYTES,
  MAX_USAGE_BATCH,
  MAX_STREAM_INPUT_BYTES,
  PROTOCOL_VERSION,
  STREAM_COMMANDS,
  LogPacker,
  LOG_FLOW_WINDOW,
  packedWeight,
  logTextWeight,
  type LogText,
  HelloFrameSchema,
  parseCommandParams,
  parseEventData,
  parseServerFrame,
  toErrorBody,
  type AgentFrame,
  type CommandFrame,
  type CommandName,
  type CommandParams,
  type CommandResult,
  type ErrorBody,
  type EventName,
  type LogLine,
  type PackedLogs,
  type NodeMetrics,
  type ServerFrame,
  type StreamInput,
} from "@berth/core";
import { z } from "zod";
import { Backoff } from "./backoff";
import type { CommandHandler } from "./command-handler";
import type { StoredCredential } from "./credentials";
import type { Logger } from "./logger";
import { LruMap } from "./lru";
import { NodeMetricsRecorder } from "./node-metrics";
import type { Outbox } from "./outbox";
import { StreamInputBuffer } from "./stream-input";
import { UploadStream } from "./upload-stream";
import type { UsageSpool } from "../usage/usage-spool";

export interface AgentClientOptions {
  /** http(s) base URL of berth-server; the socket goes to ws(s)://…/api/agent. */
  serverUrl: string;
  credential: StoredCredential;
  handler: CommandHandler;
  outbox: Outbox;
  /** Usage samples (usage/usage-spool.ts), sent in `usage` frames until `usage_ack`ed. */
  usage?: UsageSpool | null;
  log: Logger;
  /** Reconnect backoff: 500 ms doubling to 30 s, jittered; reset after a connection lasted resetAfterMs. */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number; random?: () => number };
  /** Delay between attempts while the server refuses us (HTTP 401/403, or a pinned-identity mismatch). */
  refusedRetryMs?: number;
  /** How long to wait for `welcome` after `hello`. */
  welcomeTimeoutMs?: number;
  /** Opening handshake timeout. */
  handshakeTimeoutMs?: number;
  /** Command ids remembered for idempotency. */
  idempotencyCacheSize?: number;
  /** Above this many buffered bytes, senders wait for the socket to drain. */
  highWaterBytes?: number;
  /** Target size of one `stream` frame. */
  streamBatchBytes?: number;
  /** A stream whose unsent output exceeds this is ended with an error (consumer too slow). */
  streamBufferLimitBytes?: number;
  /**
   * Persists a rotated credential (`node.rotate_credential`) durably and atomically before the
   * agent acknowledges it; without it the agent refuses rotations.
   */
  storeCredential?: ((credential: StoredCredential) => void) | null;
  /** Reads the agent's cgroup usage for the metrics heartbeats carry (node-metrics.ts). */
  nodeUsage?: (() => Promise<NodeMetrics["cgroup"]>) | null;
}

type ResultFrame = Extract<AgentFrame, { type: "result" }>;
type UnaryName = Exclude<
  CommandName,
  | "container.logs"
  | "container.exec"
  | "image.pull"
  | "image.push"
  | "image.save"
  | "image.load"
  | "image.import"
  | "image.build"
  | "node.rotate_credential"
>;

interface StreamState {
  id: string;
  abort: AbortController;
  cancelled: boolean;
  /** Where `stream_input` frames go (interactive / tty exec, and uploads). */
  input?: Pick<StreamInputBuffer, "push" | "overflowed">;
}

interface Connection {
  ws: WebSocket;
  n: number;
  openedAt: number | undefined;
  welcomed: boolean;
  /** HTTP status when the server refused the upgrade. */
  refusedStatus: number | undefined;
  refusedMessage: string | undefined;
  pinMismatch: boolean;
  lastError: string | undefined;
  lastPongAt: number;
  heartbeat: NodeJS.Timeout | undefined;
  welcomeTimer: NodeJS.Timeout | undefined;
  streams: Map<string, StreamState>;
  sentSeq: number;
  flushing: boolean;
  flushAgain: boolean;
  /** Highest usage sample seq sent on this connection. */
  usageSentSeq: number;
  /** The server's welcome announced usage accounting (usageAckedSeq). */
  usageAcked: boolean;
  usageFlushing: boolean;
}

const UNARY: {
  [N in UnaryName]: (h: CommandHandler, p: CommandParams<N>) => Promise<CommandResult<N>>;
} = {
  "container.run": (h, p) => h.run(p),
  "container.stop": (h, p) => h.stop(p),
  "container.create": (h, p) => h.create(p),
  "container.start": (h, p) => h.start(p),
  "container.kill": (h, p) => h.kill(p),
  "container.restart": (h, p) => h.restart(p),
  "container.pause": (h, p) => h.pause(p),
  "container.unpause": (h, p) => h.unpause(p),
  "container.rename": (h, p) => h.rename(p),
  "container.commit": (h, p) => h.commit(p),
  "container.remove": (h, p) => h.remove(p),
  "container.inspect": async (h, p) => h.inspect(p.containerId),
  "container.update": (h, p) => h.update(p),
  "container.stats": (h, p) => h.stats(p.containerId),
  "stats.history": async (h, p) => h.statsHistory(p),
  "image.list": async (h) => ({ images: await h.listImages() }),
  "image.inspect": (h, p) => h.imageInspect(p),
  "image.tag": (h, p) => h.imageTag(p),
  "image.remove": (h, p) => h.imageRemove(p),
  "image.prune": (h, p) => h.imagePrune(p),
  "volume.create": (h, p) => h.volumeCreate(p),
  "volume.inspect": (h, p) => h.volumeInspect(p),
  "volume.list": async (h) => ({ volumes: await h.volumeList() }),
  "volume.remove": (h, p) => h.volumeRemove(p),
  "network.create": (h, p) => h.networkCreate(p),
  "network.list": (h) => h.networkList(),
  "network.inspect": (h, p) => h.networkInspect(p),
  "network.remove": (h, p) => h.networkRemove(p),
  "network.connect": (h, p) => h.networkConnect(p),
  "network.disconnect": (h, p) => h.networkDisconnect(p),
  "network.endpoints": (h, p) => h.networkEndpoints(p),
};

export const CAPABILITIES: readonly CommandName[] = Object.keys(CommandSchemas) as CommandName[];

/** Long log lines are split into parts of at most this many characters (flagged full:false). */
const MAX_LINE_CHARS = 64 * 1024;
const ERROR_MESSAGE_MAX = 16_384;

export function agentSocketUrl(serverUrl: string): string {
  const u = new URL(serverUrl.endsWith("/") ? serverUrl : serverUrl + "/");
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return new URL("api/agent", u).href;
}

export class AgentClient {
  private readonly o: Required<Omit<AgentClientOptions, "backoff">> & {
    backoff: Required<NonNullable<AgentClientOptions["backoff"]>>;
  };
  private readonly backoff: Backoff;
  private readonly results: LruMap<string, Promise<ResultFrame>>;
  private readonly streamIds: LruMap<string, true>;
  private conn: Connection | undefined;
  private connCount = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private readonly welcomedWaiters = new Set<() => void>();
  private readonly metrics: NodeMetricsRecorder;

  constructor(opts: AgentClientOptions) {
    this.o = {
      refusedRetryMs: 60_000,
      welcomeTimeoutMs: 15_000,
      handshakeTimeoutMs: 15_000,
      idempotencyCacheSize: 10_000,
      highWaterBytes: 4 * 1024 * 1024,
      streamBatchBytes: 256 * 1024,
      streamBufferLimitBytes: 64 * 1024 * 1024,
      storeCredential: null,
      nodeUsage: null,
      usage: null,
      ...opts,
      backoff: {
        initialMs: 500,
        maxMs: 30_000,
        resetAfterMs: 30_000,
        random: Math.random,
        ...opts.backoff,
      },
    };
    this.backoff = new Backoff(this.o.backoff);
    this.metrics = new NodeMetricsRecorder(this.o.nodeUsage, (e) =>
      this.o.log.debug("cannot read the cgroup usage", { error: e.message }),
    );
    this.results = new LruMap(this.o.idempotencyCacheSize);
    this.streamIds = new LruMap(this.o.idempotencyCacheSize);
  }

  /** Subscribes to the engine's events and starts dialling; returns at once. */
  start(): void {
    if (this.started) throw new Error("AgentClient already started");
    this.started = true;
    this.unsubscribe = this.o.handler.onEvent((name, data) => this.onEngineEvent(name, data));
    const offUsage = this.o.usage?.onAppend(() => {
      if (this.conn) this.flushUsage(this.conn);
    });
    if (offUsage) {
      const off = this.unsubscribe;
      this.unsubscribe = () => {
        off?.();
        offUsage();
      };
    }
    this.connect();
  }

  /** True once the current connection got a valid `welcome`. */
  get connected(): boolean {
    return this.conn?.welcomed === true && this.conn.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves when a connection is welcomed (now, if it already is). */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.welcomedWaiters.add(resolve));
  }

  /** Closes the socket and stops reconnecting. Never touches containers. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.unsubscribe?.();
    clearTimeout(this.reconnectTimer);
    const conn = this.conn;
    if (!conn) return;
    this.stopConnTimers(conn);
    for (const s of conn.streams.values()) s.abort.abort(new Error("agent shutting down"));
    if (conn.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        conn.ws.terminate();
        resolve();
      }, 2000);
      conn.ws.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      conn.ws.close(1001, "agent shutting down");
    });
  }

  // ---------------------------------------------------------------- connection

  private connect(): void {
    if (this.closing) return;
    const url = agentSocketUrl(this.o.serverUrl);
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.o.credential.credential}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: this.o.handshakeTimeoutMs,
      perMessageDeflate: false,
      // Masking (RFC 6455 §10.3) shields plain-text intermediaries from payloads a sender's
      // user controls (here: container logs). Over TLS or loopback there is no such
      // intermediary, and an all-zero key lets ws skip masking here and unmasking on the server
      // (≈15 % of berth-server's CPU on a big log read, without bufferutil).
      ...(unmaskedTransport(url) ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}),
    });
    const conn: Connection = {
      ws,
      n: ++this.connCount,
      openedAt: undefined,
      welcomed: false,
      refusedStatus: undefined,
      refusedMessage: undefined,
      pinMismatch: false,
      lastError: undefined,
      lastPongAt: Date.now(),
      heartbeat: undefined,
      welcomeTimer: undefined,
      streams: new Map(),
      sentSeq: 0,
      flushing: false,
      flushAgain: false,
      usageSentSeq: 0,
      usageAcked: false,
      usageFlushing: false,
    };
    this.conn = conn;
    this.o.log.debug("connecting", { url, attempt: conn.n });

    ws.on("unexpected-response", (_req, res) => {
      conn.refusedStatus = res.statusCode;
      let body = "";
      const finish = () => {
        clearTimeout(t);
        conn.refusedMessage = serverErrorMessage(body);
        ws.terminate();
      };
      const t = setTimeout(finish, 1000);
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on("end", finish);
      res.on("error", finish);
    });
    ws.on("open", () => void this.onOpen(conn));
    ws.on("message", (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on("pong", () => {
      conn.lastPongAt = Date.now();
    });
    ws.on("error", (e) => {
      conn.lastError = e.message;
    });
    ws.on("close", (code, reason) => this.onClose(conn, code, reason.toString("utf8")));
  }

  private async onOpen(conn: Connection): Promise<void> {
    conn.openedAt = Date.now();
    conn.welcomeTimer = setTimeout(() => {
      if (!conn.welcomed) {
        this.o.log.warn("no welcome from the server in time: reconnecting", {
          timeoutMs: this.o.welcomeTimeoutMs,
        });
        conn.ws.terminate();
      }
    }, this.o.welcomeTimeoutMs);
    let hello: AgentFrame;
    try {
      const facts = await this.o.handler.facts();
      const inventory = this.o.handler.list();
      hello = HelloFrameSchema.parse({
        type: "hello",
        protocol: PROTOCOL_VERSION,
        nodeId: this.o.credential.nodeId,
        facts,
        capabilities: [...CAPABILITIES],
        inventory,
      });
    } catch (e) {
      this.o.log.error("cannot build hello (facts or inventory failed): reconnecting", {
        error: errorText(e),
      });
      conn.ws.close(1011, "agent could not build hello");
      return;
    }
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (!this.send(conn, hello)) conn.ws.close(1011, "hello too large");
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    this.stopConnTimers(conn);
    for (const s of conn.streams.values()) s.abort.abort(new Error("connection closed"));
    if (this.conn !== conn) return;
    this.conn = undefined;
    if (this.closing) return;

    const lived = conn.openedAt === undefined ? 0 : Date.now() - conn.openedAt;
    if (lived > this.o.backoff.resetAfterMs) this.backoff.reset();
    let delay: number;
    if (conn.refusedStatus === 401 || conn.refusedStatus === 403) {
      delay = jitter(this.o.refusedRetryMs);
      this.o.log.error(
        `the server refused this agent's credential (HTTP ${conn.refusedStatus}): the node was probably removed or its credential revoked; ` +
          `retrying every ~${Math.round(this.o.refusedRetryMs / 1000)} s (to join again, stop the agent, delete the credential file and start it with a new --join-token)`,
        {
          status: conn.refusedStatus,
          server: conn.refusedMessage,
          nodeId: this.o.credential.nodeId,
          retryInMs: delay,
        },
      );
    } else if (conn.pinMismatch) {
      delay = jitter(this.o.refusedRetryMs);
    } else {
      delay = this.backoff.next();
      const extra: Record<string, unknown> = {
        code,
        retryInMs: delay,
        attempt: this.backoff.attempts,
      };
      if (reason) extra.reason = reason;
      if (conn.lastError) extra.error = conn.lastError;
      if (conn.refusedStatus !== undefined) extra.status = conn.refusedStatus;
      if (conn.refusedMessage) extra.server = conn.refusedMessage;
      this.o.log[conn.welcomed ? "warn" : "info"](
        conn.welcomed
          ? "disconnected from the server: reconnecting"
          : "cannot connect to the server: retrying",
        extra,
      );
    }
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private stopConnTimers(conn: Connection): void {
    clearInterval(conn.heartbeat);
    clearTimeout(conn.welcomeTimer);
    conn.heartbeat = undefined;
    conn.welcomeTimer = undefined;
  }

  private live(conn: Connection): boolean {
    return this.conn === conn && conn.welcomed && conn.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one frame; false (and logged) if it cannot go out. */
  private send(conn: Connection, frame: AgentFrame): boolean {
    if (conn.ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(frame);
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
      this.o.log.error("frame larger than the protocol limit: not sent", {
        type: frame.type,
        bytes: Buffer.byteLength(text),
      });
      return false;
    }
    conn.ws.send(text, (err) => {
      if (err) this.o.log.debug("send failed", { type: frame.type, error: err.message });
    });
    return true;
  }

  private sendError(conn: Connection, error: ErrorBody, ref?: string): void {
    this.send(conn, ref === undefined ? { type: "error", error } : { type: "error", error, ref });
  }

  /** Waits while the socket holds more than the high-water mark; false if the connection went away. */
  private async drained(conn: Connection): Promise<boolean> {
    while (
      conn.ws.readyState === WebSocket.OPEN &&
      conn.ws.bufferedAmount > this.o.highWaterBytes
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return conn.ws.readyState === WebSocket.OPEN;
  }

  // ---------------------------------------------------------------- frames in

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (this.conn !== conn) return;
    if (isBinary) {
      this.sendError(conn, {
        kind: "invalid_input",
        message: "binary frames are not part of protocol v1",
      });
      return;
    }
    const text = rawToString(data);
    const parsed = parseServerFrame(text);
    if (!parsed.ok) {
      const ref = frameRef(text);
      this.o.log.warn("invalid frame from the server", {
        error: parsed.error.message.slice(0, 500),
        ref,
      });
      this.sendError(conn, parsed.error, ref);
      return;
    }
    const f: ServerFrame = parsed.frame;
    if (!conn.welcomed && f.type !== "welcome") {
      if (f.type === "error")
        this.o.log.warn("server error before welcome", { error: f.error, ref: f.ref });
      else
        this.sendError(
          conn,
          { kind: "invalid_state", message: `expected welcome before ${f.type}` },
          f.type === "command" || f.type === "cancel" || f.type === "stream_input" ? f.id : f.type,
        );
      return;
    }
    try {
      switch (f.type) {
        case "welcome":
          this.onWelcome(conn, f);
          return;
        case "command":
          if (STREAM_COMMANDS.has(f.name)) this.onStreamCommand(conn, f);
          else this.onUnaryCommand(conn, f);
          return;
        case "cancel":
          this.onCancel(conn, f.id);
          return;
        case "stream_input":
          this.onStreamInput(conn, f);
          return;
        case "usage_ack":
          this.o.usage?.ack(f.seq);
          this.flushUsage(conn);
          return;
        case "ack": {
          const dropped = this.o.outbox.ack(f.seq);
          if (dropped > 0)
            this.o.log.debug("events acked", { seq: f.seq, dropped, pending: this.o.outbox.size });
          return;
        }
        case "error":
          this.o.log.warn("the server reported an error", { error: f.error, ref: f.ref });
          return;
      }
    } catch (e) {
      // Never let one frame take the agent down (e.g. the disk under the outbox failing).
      this.o.log.error("failed to handle a frame", { type: f.type, error: errorText(e) });
      this.sendError(
        conn,
        { kind: "internal", message: clampMessage(errorText(e)) },
        f.type === "command" ? f.id : f.type,
      );
    }
  }

  private onWelcome(conn: Connection, f: Extract<ServerFrame, { type: "welcome" }>): void {
    if (conn.welcomed) {
      this.o.log.warn("ignoring a second welcome on the same connection");
      return;
    }
    if (f.serverId !== this.o.credential.serverId) {
      conn.pinMismatch = true;
      this.o.log.error(
        "SERVER IDENTITY MISMATCH: the server's id differs from the one pinned when this agent joined; refusing it. " +
          "If the server was really reinstalled, stop the agent, delete the credential file and join again with a new token.",
        {
          pinned: this.o.credential.serverId,
          offered: f.serverId,
          url: agentSocketUrl(this.o.serverUrl),
          retryInMs: this.o.refusedRetryMs,
        },
      );
      conn.ws.close(4003, "server identity mismatch");
      return;
    }
    conn.welcomed = true;
    clearTimeout(conn.welcomeTimer);
    const { dropped, renumbered } = this.o.outbox.reconcile(f.ackedSeq);
    conn.sentSeq = 0;
    this.o.log.info("connected", {
      nodeId: this.o.credential.nodeId,
      serverId: f.serverId,
      ackedSeq: f.ackedSeq,
      dropped,
      renumbered,
      resending: this.o.outbox.size,
    });
    conn.lastPongAt = Date.now();
    conn.heartbeat = setInterval(() => {
      if (Date.now() - conn.lastPongAt > 3 * f.heartbeatIntervalMs) {
        this.o.log.warn("the server stopped answering pings: reconnecting", {
          silentMs: Date.now() - conn.lastPongAt,
        });
        conn.ws.terminate();
        return;
      }
      if (conn.ws.readyState !== WebSocket.OPEN) return;
      this.send(conn, {
        type: "heartbeat",
        ts: Date.now(),
        metrics: this.metrics.snapshot(this.o.handler.list()),
      });
      conn.ws.ping();
    }, f.heartbeatIntervalMs);
    void this.flushOutbox(conn);
    if (this.o.usage && f.usageAckedSeq !== undefined) {
      this.o.usage.reconcile(f.usageAckedSeq);
      conn.usageAcked = true;
      this.flushUsage(conn);
    }
    for (const w of this.welcomedWaiters) w();
    this.welcomedWaiters.clear();
  }

  private onUnaryCommand(conn: Connection, f: CommandFrame): void {
    let p = this.results.get(f.id);
    if (p) {
      this.o.log.debug("repeated command id: answering with the first result", {
        id: f.id,
        name: f.name,
      });
    } else {
      p = this.execute(f);
      this.results.set(f.id, p);
    }
    void p.then((frame) => {
      if (conn.ws.readyState === WebSocket.OPEN) this.sendResult(conn, frame);
    });
  }

  /** `node.rotate_credential`: stores the new credential first, then answers (the server then drops the old one). */
  private rotateCredential(f: CommandFrame): ResultFrame {
    const params = parseCommandParams("node.rotate_credential", f.params);
    const fail = (kind: ErrorBody["kind"], message: string): ResultFrame => ({
      type: "result",
      id: f.id,
      ok: false,
      error: { kind, message },
    });
    if (!params.success) return fail("invalid_input", "invalid params for node.rotate_credential");
    const { credential } = params.data;
    if (!credential.startsWith(`${this.o.credential.nodeId}.`))
      return fail("invalid_input", "the rotated credential names another node");
    if (!this.o.storeCredential)
      return fail("invalid_state", "this agent cannot store a rotated credential");
    const next: StoredCredential = { ...this.o.credential, credential };
    try {
      this.o.storeCredential(next);
    } catch (e) {
      return fail("internal", clampMessage(`cannot store the credential: ${(e as Error).message}`));
    }
    this.o.credential = next;
    this.o.log.info("node credential rotated", { nodeId: next.nodeId });
    return { type: "result", id: f.id, ok: true, data: { stored: true } };
  }

  private async execute(f: CommandFrame): Promise<ResultFrame> {
    if (f.name === "node.rotate_credential") return this.rotateCredential(f);
    const name = f.name as UnaryName;
    const params = parseCommandParams(name, f.params);
    if (!params.success) {
      return {
        type: "result",
        id: f.id,
        ok: false,
        error: {
          kind: "invalid_input",
          message: clampMessage(`invalid params for ${name}: ${z.prettifyError(params.error)}`),
        },
      };
    }
    const started = Date.now();
    try {
      const run = UNARY[name] as (h: CommandHandler, p: unknown) => Promise<unknown>;
      const data = await run(this.o.handler, params.data);
      const checked = (CommandSchemas[name].result as z.ZodType).safeParse(data);
      if (!checked.success) {
        this.o.log.error("the engine returned an invalid result", {
          id: f.id,
          name,
          error: z.prettifyError(checked.error),
        });
        return {
          type: "result",
          id: f.id,
          ok: false,
          error: { kind: "internal", message: `agent produced an invalid ${name} result` },
        };
      }
      this.o.log.debug("command done", { id: f.id, name, ms: Date.now() - started });
      if (name === "container.run" || name === "container.start" || name === "container.restart")
        this.metrics.recordStart((Date.now() - started) / 1000);
      return { type: "result", id: f.id, ok: true, data: checked.data };
    } catch (e) {
      const error = safeErrorBody(e);
      this.o.log.info("command failed", {
        id: f.id,
        name,
        kind: error.kind,
        error: error.message,
        ms: Date.now() - started,
      });
      return { type: "result", id: f.id, ok: false, error };
    }
  }

  private sendResult(conn: Connection, frame: ResultFrame): void {
    if (this.send(conn, frame)) return;
    if (frame.ok && conn.ws.readyState === WebSocket.OPEN) {
      this.send(conn, {
        type: "result",
        id: frame.id,
        ok: false,
        error: { kind: "internal", message: `result larger than ${MAX_FRAME_BYTES} bytes` },
      });
    }
  }

  // ---------------------------------------------------------------- streams

  private onStreamCommand(conn: Connection, f: CommandFrame): void {
    if (conn.streams.has(f.id)) {
      this.o.log.debug("repeated stream command id while it runs: ignored", { id: f.id });
      return;
    }
    if (this.streamIds.has(f.id)) {
      this.send(conn, {
        type: "stream_end",
        id: f.id,
        error: {
          kind: "conflict",
          message: `stream command ${f.id} already ran: use a new command id`,
        },
      });
      return;
    }
    this.streamIds.set(f.id, true);
    if (f.name === "container.exec") return this.onExecCommand(conn, f);
    if (f.name === "image.pull" || f.name === "image.push") return this.onTransferCommand(conn, f);
    if (f.name === "image.save") return this.onSaveCommand(conn, f);
    if (f.name === "image.load" || f.name === "image.import" || f.name === "image.build")
      return this.onUploadCommand(conn, f);
    const s = this.openStream(conn, f, "container.logs");
    if (!s) return;
    if (s.params.packed) s.out.packer = new LogPacker(s.params.timestamps !== false);
    if (s.params.packed && s.params.flow) {
      // Flow control: the server acknowledges what its reader took; stay within the window.
      const out = s.out;
      out.flow = { sent: 0, acked: 0 };
      s.state.input = {
        push: (ev) => {
          if (out.flow && ev.ack !== undefined && ev.ack > out.flow.acked) out.flow.acked = ev.ack;
          out.wakeFlow();
        },
        overflowed: false,
      };
      s.state.abort.signal.addEventListener("abort", () => out.wakeFlow());
    }
    // `text` (no times, flow control): the handler's text batches, one frame each.
    const handler = this.o.handler;
    const asText =
      s.params.text === true &&
      s.params.packed === true &&
      s.params.flow === true &&
      s.params.timestamps === false &&
      handler.logsText !== undefined;
    this.finishStream(
      conn,
      f.id,
      s.state,
      s.out,
      asText
        ? handler.logsText!(s.params, s.state.abort.signal, (batch) => s.out.pushText(batch))
        : handler.logs(s.params, s.state.abort.signal, (lines) => s.out.push(lines)),
    );
  }

  /** `container.exec`: output chunks as `stream` frames, then `{exitCode}`, then `stream_end`. */
  private onExecCommand(conn: Connection, f: CommandFrame): void {
    const s = this.openStream(conn, f, "container.exec");
    if (!s) return;
    const { params, state, out } = s;
    const input = params.tty || params.interactive ? new StreamInputBuffer() : undefined;
    if (input) state.input = input;
    const done = this.o.handler
      .exec(params, state.abort.signal, (chunk) => out.pushData(chunk), input)
      .then(async (r) => {
        if (r.exitCode !== null) await out.pushData({ exitCode: r.exitCode });
      });
    this.finishStream(conn, f.id, state, out, done, () => input?.close());
  }

  /**
   * `image.pull` / `image.push`: `{progress}` chunks, then `{digest, ref}`, then `stream_end`.
   * The params carry a registry credential: never logged (only the name and error are).
   */
  private onTransferCommand(conn: Connection, f: CommandFrame): void {
    const name = f.name as "image.pull" | "image.push";
    const s = this.openStream(conn, f, name);
    if (!s) return;
    const { params, state, out } = s;
    const onChunk = (c: Record<string, unknown>) => out.pushData(c);
    const run =
      name === "image.pull"
        ? this.o.handler.imagePull(
            params as CommandParams<"image.pull">,
            state.abort.signal,
            onChunk,
          )
        : this.o.handler.imagePush(
            params as CommandParams<"image.push">,
            state.abort.signal,
            onChunk,
          );
    const done = run.then(async (r) => {
      await out.pushData({ digest: r.digest, ref: r.ref });
    });
    this.finishStream(conn, f.id, state, out, done);
  }

  /**
   * The shared opening of every stream command: parses its params (or ends the stream with
   * invalid_input and returns undefined), registers its StreamState on the connection (so
   * `cancel` and `stream_input` find it) and makes the StreamSender its output goes through.
   */
  private openStream<N extends CommandName>(
    conn: Connection,
    f: CommandFrame,
    name: N,
  ): { params: CommandParams<N>; state: StreamState; out: StreamSender } | undefined {
    const params = parseCommandParams(name, f.params);
    if (!params.success) {
      this.send(conn, {
        type: "stream_end",
        id: f.id,
        error: {
          kind: "invalid_input",
          message: clampMessage(`invalid params for ${name}: ${z.prettifyError(params.error)}`),
        },
      });
      return undefined;
    }
    const state: StreamState = { id: f.id, abort: new AbortController(), cancelled: false };
    conn.streams.set(f.id, state);
    const out = new StreamSender(
      conn.ws,
      f.id,
      state.abort,
      this.o,
      (fr) => this.send(conn, fr),
      () => this.drained(conn),
    );
    return { params: params.data, state, out };
  }

  /**
   * `image.save`: `{data}` chunks (base64, ≤ IMAGE_SAVE_CHUNK_BYTES each), then `stream_end`;
   * the server acknowledges what it passed on with `stream_input {ack}`.
   */
  private onSaveCommand(conn: Connection, f: CommandFrame): void {
    const s = this.openStream(conn, f, "image.save");
    if (!s) return;
    const { params, state, out } = s;
    // Flow control: at most IMAGE_SAVE_WINDOW_BYTES ahead of the server's last `ack`, so a
    // slow HTTP client slows the agent instead of filling the server's memory.
    let sent = 0;
    let acked = 0;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    state.input = {
      push: (ev) => {
        if (ev.ack !== undefined && ev.ack > acked) acked = ev.ack;
        notify();
      },
      overflowed: false,
    };
    state.abort.signal.addEventListener("abort", notify);
    const onChunk = async (data: Buffer) => {
      for (let i = 0; i < data.length; i += IMAGE_SAVE_CHUNK_BYTES) {
        const part = data.subarray(i, i + IMAGE_SAVE_CHUNK_BYTES);
        while (!state.abort.signal.aborted && sent - acked > IMAGE_SAVE_WINDOW_BYTES - part.length)
          await new Promise<void>((r) => (wake = r));
        if (state.abort.signal.aborted) return;
        sent += part.length;
        await out.pushData({ data: part.toString("base64") });
      }
    };
    this.finishStream(
      conn,
      f.id,
      state,
      out,
      this.o.handler.imageSave(params, state.abort.signal, onChunk),
    );
  }

  /**
   * `image.load` / `image.import`: the archive arrives in `stream_input` frames; `{received}`
   * chunks acknowledge what the engine consumed (the server's window), `{loaded}` ends it.
   */
  private onUploadCommand(conn: Connection, f: CommandFrame): void {
    const name = f.name as "image.load" | "image.import" | "image.build";
    const s = this.openStream(conn, f, name);
    if (!s) return;
    const { params, state, out } = s;
    const upload = new UploadStream((received) => void out.pushData({ received }), {
      ackEvery: IMAGE_UPLOAD_ACK_BYTES,
      maxQueuedBytes: IMAGE_UPLOAD_WINDOW_BYTES + 4 * MAX_STREAM_INPUT_BYTES,
    });
    state.input = { push: (ev) => upload.accept(ev), overflowed: false };
    state.abort.signal.addEventListener("abort", () =>
      upload.destroy(new DomainError("unavailable", "upload cancelled")),
    );
    const run: Promise<Record<string, unknown>> =
      name === "image.load"
        ? this.o.handler.imageLoad(params as CommandParams<"image.load">, upload)
        : name === "image.import"
          ? this.o.handler.imageImport(params as CommandParams<"image.import">, upload)
          : // A build's progress lines go out as they come (back-pressure: the sender's queue).
            this.o.handler
              .imageBuild(
                params as CommandParams<"image.build">,
                upload,
                (line) => void out.pushData({ progress: line }),
                state.abort.signal,
              )
              .then((built) => ({ built }));
    const done = run.then(async (r) => {
      // Whatever the engine left unread is drained, so the server's eof is seen.
      upload.resume();
      await out.pushData(r);
    });
    done.finally(() => upload.destroy()).catch(() => undefined);
    this.finishStream(conn, f.id, state, out, done);
  }

  /**
   * Ends a stream with `stream_end` once `work` settles (its error, unless cancelled), then runs
   * `cleanup` and unregisters the stream.
   */
  private finishStream(
    conn: Connection,
    id: string,
    state: StreamState,
    out: StreamSender,
    work: Promise<void>,
    cleanup?: () => void,
  ): void {
    work
      .then(
        () => undefined,
        (e: unknown) => (state.abort.signal.aborted ? undefined : safeErrorBody(e)),
      )
      .then((error) => out.end(out.error ?? error))
      .catch((e: unknown) => this.o.log.error("stream failed", { id, error: errorText(e) }))
      .finally(() => {
        cleanup?.();
        if (conn.streams.get(id) === state) conn.streams.delete(id);
      });
  }

  /** Routes `stream_input` to its running stream; unknown ids and non-interactive ones are ignored. */
  private onStreamInput(conn: Connection, f: Extract<ServerFrame, { type: "stream_input" }>): void {
    const input = conn.streams.get(f.id)?.input;
    if (!input) {
      this.o.log.debug("input for a stream that is not interactive or not running: ignored", {
        id: f.id,
      });
      return;
    }
    const ev: StreamInput = {};
    if (f.resize) ev.resize = f.resize;
    if (f.data !== undefined) ev.data = Buffer.from(f.data, "base64");
    if (f.eof) ev.eof = true;
    if (f.ack !== undefined) ev.ack = f.ack;
    const wasOverflowed = input.overflowed;
    input.push(ev);
    if (input.overflowed && !wasOverflowed)
      this.o.log.warn("stream input arrived faster than the process started: data dropped", {
        id: f.id,
      });
  }

  private onCancel(conn: Connection, id: string): void {
    const s = conn.streams.get(id);
    if (!s) {
      this.o.log.debug("cancel for a command that is not streaming: ignored", { id });
      return;
    }
    s.cancelled = true;
    s.abort.abort(new Error("cancelled by the server"));
  }

  // ---------------------------------------------------------------- events

  private onEngineEvent(name: EventName, data: unknown): void {
    const checked = parseEventData(name, data);
    if (!checked.success) {
      this.o.log.error("the engine emitted an invalid event: dropped", {
        name,
        error: z.prettifyError(checked.error),
      });
      return;
    }
    try {
      this.o.outbox.append(name, checked.data);
    } catch (e) {
      this.o.log.error("cannot write the event outbox: event lost", { name, error: errorText(e) });
      return;
    }
    const conn = this.conn;
    if (conn && this.live(conn)) void this.flushOutbox(conn);
  }

  /**
   * Sends pending usage samples in batches, one batch in flight: the next goes when the server
   * acks the previous (or when new samples arrive and nothing is in flight). Needs a server that
   * announced `usageAckedSeq` in its welcome.
   */
  private flushUsage(conn: Connection): void {
    const usage = this.o.usage;
    if (!usage || !conn.usageAcked || conn.usageFlushing || !this.live(conn)) return;
    conn.usageFlushing = true;
    try {
      const inFlight = usage.pending(0, 1)[0];
      // Unacked samples already sent on this connection: wait for their ack.
      if (inFlight && inFlight.seq <= conn.usageSentSeq) return;
      const batch = usage.pending(conn.usageSentSeq, MAX_USAGE_BATCH);
      if (batch.length === 0) return;
      if (this.send(conn, { type: "usage", samples: batch })) conn.usageSentSeq = batch.at(-1)!.seq;
    } finally {
      conn.usageFlushing = false;
    }
  }

  /** Sends pending events above what this connection already sent, in order, one flusher at a time. */
  private async flushOutbox(conn: Connection): Promise<void> {
    if (conn.flushing) {
      conn.flushAgain = true;
      return;
    }
    conn.flushing = true;
    try {
      do {
        conn.flushAgain = false;
        for (const e of this.o.outbox.pending(conn.sentSeq)) {
          if (!(await this.drained(conn)) || !this.live(conn)) return;
          if (e.seq <= conn.sentSeq) continue;
          this.send(conn, { type: "event", seq: e.seq, name: e.name, at: e.at, data: e.data });
          conn.sentSeq = e.seq;
        }
      } while (conn.flushAgain);
    } finally {
      conn.flushing = false;
    }
  }
}

/**
 * One stream's output: batches lines into frames of ~streamBatchBytes, sends them in order
 * behind the socket's high-water mark, and ends with `stream_end`.
 */
class StreamSender {
  private batch: LogLine[] = [];
  private batchBytes = 0;
  private readonly queue: { frame: AgentFrame; bytes: number }[] = [];
  private queuedBytes = 0;
  private pumping: Promise<void> | undefined;
  private flushScheduled = false;
  private waiters: (() => void)[] = [];
  private ended = false;
  /** Set when the stream had to be ended by the sender itself. */
  error: ErrorBody | undefined;
  /** Set for log streams asked with `packed: true`. */
  packer: LogPacker | undefined;
  /** Set for log streams asked with `flow: true`: weights sent and acknowledged. */
  flow: { sent: number; acked: number } | undefined;
  private flowWaiter: (() => void) | undefined;

  wakeFlow(): void {
    const w = this.flowWaiter;
    this.flowWaiter = undefined;
    w?.();
  }

  constructor(
    private readonly ws: WebSocket,
    private readonly id: string,
    private readonly abort: AbortController,
    private readonly o: {
      streamBatchBytes: number;
      highWaterBytes: number;
      streamBufferLimitBytes: number;
    },
    private readonly sendFrame: (f: AgentFrame) => boolean,
    private readonly drained: () => Promise<boolean>,
  ) {}

  /** Queues lines; resolves once the unsent backlog is under the high-water mark. */
  push(lines: readonly LogLine[]): Promise<void> {
    if (this.ended || this.abort.signal.aborted) return Promise.resolve();
    if (this.packer) return this.pushPacked(this.packer, lines);
    for (const line of lines) {
      for (const part of splitLine(line)) {
        const bytes = Buffer.byteLength(JSON.stringify(part)) + 1;
        if (this.batchBytes + bytes > this.o.streamBatchBytes && this.batch.length > 0) this.seal();
        this.batch.push(part);
        this.batchBytes += bytes;
      }
    }
    if (this.batchBytes >= this.o.streamBatchBytes) this.seal();
    else if (this.batch.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.seal();
      });
    }
    if (this.queuedBytes > this.o.streamBufferLimitBytes) {
      this.error = {
        kind: "unavailable",
        message: "log stream aborted: the server reads slower than the container writes",
      };
      this.abort.abort(new Error(this.error.message));
      return Promise.resolve();
    }
    if (this.queuedBytes + this.batchBytes <= this.o.highWaterBytes) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /**
   * `push` for a stream asked with `packed: true`: lines go into one LogPacker (no per-line
   * object or JSON), sealed as `{packed}` frames of about streamBatchBytes.
   */
  private pushPacked(packer: LogPacker, lines: readonly LogLine[]): Promise<void> {
    for (const line of lines) {
      if (line.line.length <= MAX_LINE_CHARS) {
        packer.add(line.ts, line.stream, line.line, line.full !== false);
      } else {
        for (const part of splitLine(line))
          packer.add(part.ts, part.stream, part.line, part.full !== false);
      }
      if (packer.size >= this.o.streamBatchBytes) this.seal();
    }
    if (packer.count > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.seal();
      });
    }
    return this.flow ? this.flowPressure() : this.backPressure("log");
  }

  /**
   * A text batch (core log-text.ts) of a `text` log stream, as one `{text}` frame; flow control
   * and back-pressure as pushPacked (weight logTextWeight).
   */
  pushText(batch: LogText): Promise<void> {
    if (this.ended || this.abort.signal.aborted) return Promise.resolve();
    if (this.flow) this.flow.sent += logTextWeight(batch);
    this.enqueue(
      { type: "stream", id: this.id, data: { text: batch } },
      logTextWeight(batch) + 128,
    );
    return this.flow ? this.flowPressure() : this.backPressure("log");
  }

  /** Waits until the server acknowledged enough (and the socket drained) to read on. */
  private async flowPressure(): Promise<void> {
    const flow = this.flow!;
    while (!this.abort.signal.aborted && flow.sent - flow.acked > LOG_FLOW_WINDOW)
      await new Promise<void>((r) => (this.flowWaiter = r));
    return this.backPressure("log");
  }

  private backPressure(what: string): Promise<void> {
    if (this.queuedBytes > this.o.streamBufferLimitBytes) {
      this.error = {
        kind: "unavailable",
        message: `${what} stream aborted: the server reads slower than the container writes`,
      };
      this.abort.abort(new Error(this.error.message));
      return Promise.resolve();
    }
    if (this.queuedBytes + (this.packer?.size ?? this.batchBytes) <= this.o.highWaterBytes)
      return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Queues one `stream` frame carrying `data` as is (exec output); back-pressure like push. */
  pushData(data: Record<string, unknown>): Promise<void> {
    if (this.ended || this.abort.signal.aborted) return Promise.resolve();
    this.seal();
    this.enqueue({ type: "stream", id: this.id, data });
    if (this.queuedBytes > this.o.streamBufferLimitBytes) {
      this.error = {
        kind: "unavailable",
        message: "exec stream aborted: the server reads slower than the process writes",
      };
      this.abort.abort(new Error(this.error.message));
      return Promise.resolve();
    }
    if (this.queuedBytes <= this.o.highWaterBytes) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Sends what is left, then `stream_end` (skipped when the connection is gone). */
  async end(error?: ErrorBody): Promise<void> {
    if (this.ended) return;
    this.seal();
    this.ended = true;
    this.enqueue(
      error === undefined
        ? { type: "stream_end", id: this.id }
        : { type: "stream_end", id: this.id, error },
    );
    while (this.pumping) await this.pumping;
  }

  private seal(): void {
    if (this.packer) {
      if (this.packer.count > 0) {
        const packed = this.packer.take();
        if (this.flow) this.flow.sent += packedWeight(packed);
        this.enqueue({ type: "stream", id: this.id, data: { packed } });
      }
      return;
    }
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.enqueue({ type: "stream", id: this.id, data: { lines } });
  }

  private enqueue(frame: AgentFrame, knownBytes?: number): void {
    // A packed batch's weight is its size give or take escapes: no second JSON of a big frame.
    const packed =
      frame.type === "stream"
        ? (frame.data as { packed?: PackedLogs } | undefined)?.packed
        : undefined;
    const bytes =
      knownBytes !== undefined
        ? knownBytes
        : packed !== undefined
          ? packedWeight(packed) + 128
          : frame.type === "stream"
            ? Buffer.byteLength(JSON.stringify(frame))
            : 64;
    this.queue.push({ frame, bytes });
    this.queuedBytes += bytes;
    this.kick();
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const isEnd = next.frame.type === "stream_end";
      // Once cancelled, no more output; only stream_end goes out.
      if (!isEnd && this.abort.signal.aborted) {
        this.queue.shift();
        this.queuedBytes -= next.bytes;
        continue;
      }
      if (!(await this.drained())) {
        this.queue.length = 0;
        this.queuedBytes = 0;
        this.release();
        return;
      }
      this.queue.shift();
      this.queuedBytes -= next.bytes;
      if (this.ws.readyState === WebSocket.OPEN) this.sendFrame(next.frame);
      if (this.queuedBytes <= this.o.highWaterBytes) this.release();
    }
    this.release();
  }

  private release(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

/** True for a wss:// URL or a loopback host: frames need no masking key (see connect()). */
export function unmaskedTransport(url: string): boolean {
  const u = new URL(url);
  if (u.protocol === "wss:") return true;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function splitLine(line: LogLine): LogLine[] {
  if (line.line.length <= MAX_LINE_CHARS) return [line];
  const parts: LogLine[] = [];
  for (let i = 0; i < line.line.length; i += MAX_LINE_CHARS) {
    const last = i + MAX_LINE_CHARS >= line.line.length;
    parts.push({
      ...line,
      line: line.line.slice(i, i + MAX_LINE_CHARS),
      full: last ? line.full : false,
    });
  }
  return parts;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

/** The command id (or frame type) of a frame that failed validation, for the error's `ref`. */
function frameRef(text: string): string | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null) return undefined;
    const { id, type } = v as { id?: unknown; type?: unknown };
    if (typeof id === "string" && id.length <= 64) return id;
    if (typeof type === "string" && type.length <= 64) return type;
  } catch {
    // not JSON: no ref
  }
  return undefined;
}

function serverErrorMessage(body: string): string | undefined {
  try {
    const v = z
      .object({ error: z.object({ kind: z.string(), message: z.string() }) })
      .safeParse(JSON.parse(body));
    return v.success
      ? `${v.data.error.kind}: ${v.data.error.message}`
      : body.slice(0, 200) || undefined;
  } catch {
    return body.slice(0, 200) || undefined;
  }
}

function clampMessage(m: string): string {
  return m.length > ERROR_MESSAGE_MAX ? m.slice(0, ERROR_MESSAGE_MAX - 1) + "…" : m;
}

/** toErrorBody, clamped to the protocol's limits so the frame always validates. */
function safeErrorBody(e: unknown): ErrorBody {
  const b = toErrorBody(e);
  const out: ErrorBody = { kind: b.kind, message: clampMessage(b.message) };
  if (b.details !== undefined) {
    try {
      out.details = JSON.parse(JSON.stringify(b.details)) as Record<string, unknown>;
    } catch {
      // unserialisable details are dropped, the message stays
    }
  }
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function jitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}
