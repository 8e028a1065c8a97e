/**
 * The node credential as a registry credential: sent only to the agent's own server (registry
 * host and token realm), as Basic `node/<id>` with `account=<team>`.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RegistryClient } from "./client";
import { nodeRegistryCredential, sameServerHost, type NodeIdentity } from "./node-credential";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A registry whose /v2/ asks for a Bearer token at `realm(port)`, recording token requests. */
async function registry(realm: (port: number) => string) {
  const tokenRequests: IncomingMessage[] = [];
  const s = createServer((req, res) => {
    const port = (s.address() as AddressInfo).port;
    if (req.url?.startsWith("/token")) {
      tokenRequests.push(req);
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ token: "t0k", expires_in: 300 }));
    }
    if (req.headers.authorization === "Bearer t0k") return res.writeHead(200).end("{}");
    res.writeHead(401, {
      "www-authenticate": `Bearer realm="${realm(port)}",service="berth"`,
    });
    res.end();
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return { port: (s.address() as AddressInfo).port, tokenRequests };
}

const NODE = "abcdefghijklmnopqrstuvwxyz";
const TEAM = "zyxwvutsrqponmlkjihgfedcba";
const identity = (serverUrl: string): NodeIdentity => ({
  serverUrl,
  nodeId: NODE,
  credential: `${NODE}.secret-secret-secret`,
});

describe("sameServerHost", () => {
  it("compares host and port, loopback spellings alike, default ports spelled out", () => {
    expect(sameServerHost("127.0.0.1:3000", "localhost:3000")).toBe(true);
    expect(sameServerHost("[::1]:3000", "127.0.0.1:3000")).toBe(true);
    expect(sameServerHost("127.0.0.1:3000", "127.0.0.1:3001")).toBe(false);
    expect(sameServerHost("berth.example.com", "berth.example.com:443")).toBe(true);
    expect(sameServerHost("berth.example.com", "evil.example.com:443")).toBe(false);
    expect(sameServerHost("127.0.0.1:443", "berth.example.com:443")).toBe(false);
  });
});

describe("nodeRegistryCredential", () => {
  it("refuses a registry that is not the agent's server, and a node that has not joined", () => {
    expect(() =>
      nodeRegistryCredential("registry.example.com", TEAM, identity("http://127.0.0.1:3000")),
    ).toThrow(/only sent there/);
    expect(() => nodeRegistryCredential("127.0.0.1:3000", TEAM, undefined)).toThrow(
      /has no credential yet/,
    );
  });

  it("sends Basic node/<id> and account=<team> to the server's token endpoint", async () => {
    const r = await registry((port) => `http://127.0.0.1:${port}/token`);
    const credential = nodeRegistryCredential(
      `localhost:${r.port}`,
      TEAM,
      identity(`http://127.0.0.1:${r.port}`),
    );
    const client = new RegistryClient({ registry: `127.0.0.1:${r.port}`, credential });
    await client.ping();
    expect(r.tokenRequests).toHaveLength(1);
    const req = r.tokenRequests[0]!;
    expect(new URL(req.url!, "http://x").searchParams.get("account")).toBe(TEAM);
    const auth = Buffer.from(req.headers.authorization!.slice(6), "base64").toString();
    expect(auth).toBe(`node/${NODE}:${NODE}.secret-secret-secret`);
  });

  it("does not send the node credential to a token realm on another host", async () => {
    const elsewhere = await registry(() => "http://127.0.0.1:9/token");
    const r = await registry(() => `http://127.0.0.2:${elsewhere.port}/token`);
    const credential = nodeRegistryCredential(
      `127.0.0.1:${r.port}`,
      TEAM,
      identity(`http://127.0.0.1:${r.port}`),
    );
    const client = new RegistryClient({ registry: `127.0.0.1:${r.port}`, credential });
    await expect(client.ping()).rejects.toThrow(/not berth-server .* not sent there/);
    expect(elsewhere.tokenRequests).toHaveLength(0);
  });
});
