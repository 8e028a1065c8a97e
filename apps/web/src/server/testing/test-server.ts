/**
 * The berth-server HTTP app (tRPC, agent join and WebSocket, downloads) on a free port of
 * 127.0.0.1 for tests, and protocol test peers that join it and say hello: the set-up the
 * gateway, fleet, volume and metrics tests share.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { JoinResponse, ServerFrame } from "@berth/core";
import { createHttpApp, type HttpAppDeps } from "../http-app";
import type { Fixture } from "./fixtures";
import { ProtocolPeer, TEST_FACTS } from "./protocol-peer";

type WelcomeFrame = Extract<ServerFrame, { type: "welcome" }>;

export interface TestServer {
  server: Server;
  /** `127.0.0.1:<port>` of the server. */
  base: string;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:<free port> first, then serves (requests and WebSocket upgrades) the app
 * `makeApp` builds for that `127.0.0.1:<port>` — for apps that must know their own URL.
 */
export async function listenApp(
  makeApp: (base: string) => ReturnType<typeof createHttpApp>,
  notFoundBody?: string,
): Promise<TestServer> {
  let app: ReturnType<typeof createHttpApp> | null = null;
  const server = createServer((req, res) => {
    if (!app?.handleRequest(req, res)) res.writeHead(404).end(notFoundBody);
  });
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    if (!app?.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  app = makeApp(base);
  return {
    server,
    base,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Serves the fixture's HTTP app (with WebSocket upgrades) on 127.0.0.1:<free port>. */
export function startTestServer(
  f: Fixture,
  serverId: string,
  extra: Pick<HttpAppDeps, "metrics" | "registry"> & { notFoundBody?: string } = {},
): Promise<TestServer> {
  const { notFoundBody, ...deps } = extra;
  return listenApp(
    () =>
      createHttpApp({
        db: f.db,
        gateway: f.gateway,
        services: f.services,
        serverId,
        defaultTeamId: f.defaultTeamId,
        secureCookies: false,
        ...deps,
      }),
    notFoundBody,
  );
}

/** POSTs to the agent join endpoint; throws unless it answers 200. */
export async function joinNode(base: string, token: string, hostname: string) {
  const res = await fetch(`http://${base}/api/agent/join`, {
    method: "POST",
    body: JSON.stringify({ token, hostname }),
  });
  if (res.status !== 200) throw new Error(`join answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as JoinResponse;
}

export interface GreetOptions {
  credential?: string;
  capabilities?: string[];
  inventory?: unknown[];
}

/** Opens the agent WebSocket with the node's credential, says hello and waits for welcome. */
export async function greetNode(
  base: string,
  j: JoinResponse,
  opts: GreetOptions = {},
): Promise<{ peer: ProtocolPeer; welcome: WelcomeFrame }> {
  const peer = await ProtocolPeer.connect(
    `ws://${base}/api/agent`,
    opts.credential ?? j.credential,
  );
  peer.send({
    type: "hello",
    protocol: 1,
    nodeId: j.nodeId,
    facts: TEST_FACTS,
    capabilities: opts.capabilities ?? [],
    inventory: opts.inventory ?? [],
  });
  const welcome = await peer.next("welcome");
  return { peer, welcome };
}

/** A test server and the protocol peers connected to it, all dropped by `close`. */
export interface PeerServer extends TestServer {
  peers: ProtocolPeer[];
  /** Joins with `token` (expects 200). */
  join(token: string, hostname: string): Promise<JoinResponse>;
  /** Connects and greets as the joined node; the peer is dropped on `close`. */
  greet(
    j: JoinResponse,
    opts?: GreetOptions,
  ): Promise<{ peer: ProtocolPeer; welcome: WelcomeFrame }>;
  /** A fresh admin join token, join and greeting. */
  connect(hostname: string): Promise<{ peer: ProtocolPeer; j: JoinResponse }>;
}

export async function startPeerServer(
  f: Fixture,
  serverId: string,
  extra: Parameters<typeof startTestServer>[2] = {},
): Promise<PeerServer> {
  const s = await startTestServer(f, serverId, extra);
  const peers: ProtocolPeer[] = [];
  const greet = async (j: JoinResponse, opts?: GreetOptions) => {
    const greeted = await greetNode(s.base, j, opts);
    peers.push(greeted.peer);
    return greeted;
  };
  const join = (token: string, hostname: string) => joinNode(s.base, token, hostname);
  return {
    ...s,
    peers,
    join,
    greet,
    async connect(hostname) {
      const j = await join(f.services.joinTokens.create(f.adminId, 600).token, hostname);
      const { peer } = await greet(j);
      return { peer, j };
    },
    async close() {
      for (const p of peers.splice(0)) p.ws.terminate();
      await s.close();
    },
  };
}

export interface HttpCallOptions {
  token?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

/** One HTTP request to a test server: status, headers, raw body and the body as JSON (or null). */
export async function httpCall(
  base: string,
  method: string,
  path: string,
  opts: HttpCallOptions = {},
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    ...(opts.body === undefined
      ? {}
      : { body: typeof opts.body === "string" ? opts.body : new Uint8Array(opts.body) }),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  let json: unknown = null;
  try {
    json = JSON.parse(buf.toString("utf8"));
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, buf, json };
}
