import { mkdtempSync, readdirSync, rmSync, existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContentStore, sha256Digest } from "../content-store";
import {
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_ZSTD,
  MEDIA_TYPE_MANIFEST,
} from "../oci";
import { parseChallenges, TokenCache } from "./auth";
import { allowsPlainHttp, registryBaseUrl, RegistryClient } from "./client";
import { pullImage } from "./pull";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];
async function serve(handler: Handler): Promise<{ host: string; port: number }> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  return { host: `127.0.0.1:${port}`, port };
}
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-client-"));
});
afterEach(async () => {
  rmSync(dir, { recursive: true, force: true });
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe("parseChallenges", () => {
  it("parses Bearer and Basic challenges with quoted parameters", () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/busybox:pull",
        },
      },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
    ]);
    expect(parseChallenges('Basic realm="a", Bearer realm="b",error="x\\"y"')).toEqual([
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { realm: "b", error: 'x"y' } },
    ]);
    expect(parseChallenges("")).toEqual([]);
  });
});

describe("TokenCache", () => {
  it("expires tokens shortly before their lifetime ends", () => {
    let now = 1_000_000;
    const c = new TokenCache(() => now);
    c.set("k", "t", 60);
    expect(c.get("k")).toBe("t");
    now += 49_000;
    expect(c.get("k")).toBe("t");
    now += 2_000; // 51 s: within the 10 s margin
    expect(c.get("k")).toBeUndefined();
  });
});

describe("transport rules", () => {
  it("uses plain HTTP only for loopback or listed registries", () => {
    expect(registryBaseUrl("localhost:5000")).toBe("http://localhost:5000");
    expect(registryBaseUrl("127.0.0.1:5000")).toBe("http://127.0.0.1:5000");
    expect(registryBaseUrl("[::1]:5000")).toBe("http://[::1]:5000");
    expect(registryBaseUrl("registry.example.com")).toBe("https://registry.example.com");
    expect(registryBaseUrl("docker.io")).toBe("https://registry-1.docker.io");
    expect(registryBaseUrl("reg.lan:5000", ["reg.lan:5000"])).toBe("http://reg.lan:5000");
    expect(allowsPlainHttp("reg.lan:5000", ["reg.lan"])).toBe(true);
    expect(allowsPlainHttp("reg.lan:5000", ["other.lan"])).toBe(false);
    expect(allowsPlainHttp("127.example.com")).toBe(false);
  });
});

describe("RegistryClient", () => {
  it("retries 5xx and connection resets with backoff", async () => {
    let n = 0;
    const { host } = await serve((req, res) => {
      n++;
      if (n === 1) return req.socket.destroy(); // connection reset
      if (n === 2) {
        res.writeHead(503);
        return res.end("busy");
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const c = new RegistryClient({ registry: host, retryBaseMs: 5 });
    await c.ping();
    expect(n).toBe(3);
    expect(c.stats.retries).toBe(2);
  });

  it("gives up after its attempts with a clear unavailable error", async () => {
    const { host } = await serve((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNKNOWN", message: "disk full" }] }));
    });
    const c = new RegistryClient({ registry: host, retryBaseMs: 1, attempts: 3 });
    await expect(c.ping()).rejects.toMatchObject({
      kind: "unavailable",
      message: expect.stringMatching(/500 UNKNOWN: disk full/),
    });
  });

  it("follows a redirect to another host without the Authorization header", async () => {
    const seen: { path: string; auth: string | undefined }[] = [];
    const storage = await serve((req, res) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization });
      res.writeHead(200);
      res.end("blob-bytes");
    });
    const reg = await serve((req, res) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization });
      if (!req.headers.authorization) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="r"' });
        return res.end();
      }
      // Same-origin redirect keeps credentials; cross-origin loses them.
      if (req.url === "/v2/a/blobs/x") {
        res.writeHead(307, { location: "/v2/a/blobs/y" });
        return res.end();
      }
      res.writeHead(307, { location: `http://localhost:${storage.port}/data?sig=1` });
      res.end();
    });
    const c = new RegistryClient({
      registry: reg.host,
      credential: { username: "u", password: "p" },
    });
    const res = await c.request("/v2/a/blobs/x", { scopes: [], what: "blob" });
    expect(await res.text()).toBe("blob-bytes");
    const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;
    expect(seen).toEqual([
      { path: "/v2/a/blobs/x", auth: undefined },
      { path: "/v2/a/blobs/x", auth: basic },
      { path: "/v2/a/blobs/y", auth: basic },
      { path: "/data?sig=1", auth: undefined },
    ]);
  });

  it("refuses a redirect from a TLS registry to plain HTTP elsewhere", async () => {
    const fakeFetch = async (url: string) =>
      url.startsWith("https://reg.example.com")
        ? new Response(null, { status: 302, headers: { location: "http://evil.example.net/x" } })
        : new Response("x");
    const c = new RegistryClient({ registry: "reg.example.com", fetch: fakeFetch });
    await expect(c.request("/v2/", { scopes: [], what: "ping" })).rejects.toMatchObject({
      kind: "forbidden",
      message: expect.stringMatching(/refusing a redirect to plain HTTP/),
    });
  });

  it("refuses to send credentials to a plain-HTTP token realm off loopback", async () => {
    const fakeFetch = async () =>
      new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="http://auth.example.com/token"' },
      });
    const c = new RegistryClient({
      registry: "reg.example.com",
      credential: { username: "u", password: "p" },
      fetch: fakeFetch,
    });
    await expect(c.ping()).rejects.toMatchObject({
      kind: "forbidden",
      message: expect.stringMatching(/refusing to fetch a token over plain HTTP/),
    });
  });

  it("runs the Bearer flow: challenge → token with scope and credentials → retry", async () => {
    const tokenReqs: string[] = [];
    const tokenSrv = await serve((req, res) => {
      tokenReqs.push(`${req.url} ${req.headers.authorization ?? "-"}`);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: "tok-1", expires_in: 300 }));
    });
    let authed = 0;
    const { host } = await serve((req, res) => {
      if (req.headers.authorization !== "Bearer tok-1") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${tokenSrv.host}/token",service="svc",scope="repository:a/b:pull"`,
        });
        return res.end();
      }
      authed++;
      res.writeHead(200);
      res.end("ok");
    });
    const c = new RegistryClient({ registry: host, credential: { username: "u", password: "p" } });
    for (let i = 0; i < 3; i++)
      await (
        await c.request("/v2/a/b/tags/list", { scopes: ["repository:a/b:pull"], what: "t" })
      ).text();
    expect(authed).toBe(3);
    expect(tokenReqs).toEqual([
      `/token?service=svc&scope=repository%3Aa%2Fb%3Apull Basic ${Buffer.from("u:p").toString("base64")}`,
    ]);
  });
});

/** A fake registry serving one manifest (by tag and digest) and its blobs. */
async function fakeRegistry(manifest: Buffer, contentType: string, blobs: Record<string, Buffer>) {
  const digest = sha256Digest(manifest);
  return serve((req, res) => {
    const url = req.url ?? "";
    if (url === "/v2/t/app/manifests/1" || url === `/v2/t/app/manifests/${digest}`) {
      res.writeHead(200, { "content-type": contentType, "docker-content-digest": digest });
      return res.end(manifest);
    }
    const m = /^\/v2\/t\/app\/blobs\/(sha256:[a-f0-9]+)$/.exec(url);
    if (m && blobs[m[1]!]) {
      res.writeHead(200, { "content-length": String(blobs[m[1]!]!.length) });
      return res.end(blobs[m[1]!]);
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "unknown" }] }));
  });
}

function manifestWith(layerMediaType: string, layer: Buffer, config: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: { mediaType: MEDIA_TYPE_CONFIG, digest: sha256Digest(config), size: config.length },
      layers: [{ mediaType: layerMediaType, digest: sha256Digest(layer), size: layer.length }],
    }),
  );
}

const config = Buffer.from(
  JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [sha256Digest(Buffer.from("tar"))] },
  }),
);

describe("pull refusals", () => {
  it("refuses schema1 manifests clearly", async () => {
    const s1 = Buffer.from(
      JSON.stringify({ schemaVersion: 1, name: "t/app", tag: "1", fsLayers: [] }),
    );
    const { host } = await fakeRegistry(
      s1,
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      {},
    );
    const cs = new ContentStore(dir);
    await expect(pullImage(cs, `${host}/t/app:1`)).rejects.toThrow(
      /schema1 manifest.*not supported/,
    );
    expect(await cs.list()).toEqual([]);
  });

  it("refuses zstd layers before downloading them (Node 20 has no zstd)", async () => {
    const layer = Buffer.from("zstd-bytes");
    const m = manifestWith(MEDIA_TYPE_LAYER_ZSTD, layer, config);
    const { host } = await fakeRegistry(m, MEDIA_TYPE_MANIFEST, {
      [sha256Digest(layer)]: layer,
      [sha256Digest(config)]: config,
    });
    const cs = new ContentStore(dir);
    await expect(pullImage(cs, `${host}/t/app:1`)).rejects.toThrow(/zstd/);
    expect(await cs.list()).toEqual([]);
  });

  it("refuses a manifest whose content does not match the registry's digest", async () => {
    const layer = Buffer.from("layer");
    const m = manifestWith(MEDIA_TYPE_LAYER_GZIP, layer, config);
    const { host } = await serve((req, res) => {
      res.writeHead(200, {
        "content-type": MEDIA_TYPE_MANIFEST,
        "docker-content-digest": sha256Digest(Buffer.from("other")),
      });
      res.end(m);
    });
    await expect(pullImage(new ContentStore(dir), `${host}/t/app:1`)).rejects.toThrow(
      /hashes to .* but the registry says/,
    );
    await expect(
      pullImage(new ContentStore(dir), `${host}/t/app@${sha256Digest(Buffer.from("x"))}`),
    ).rejects.toThrow(/content hashes to .*, not sha256:/);
  });

  it("refuses an oversized manifest and a blob larger than the manifest says", async () => {
    const { host } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": MEDIA_TYPE_MANIFEST });
      res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
    });
    await expect(pullImage(new ContentStore(dir), `${host}/t/app:1`)).rejects.toThrow(/too large/);

    const layer = Buffer.from("the real layer");
    const m = manifestWith(MEDIA_TYPE_LAYER_GZIP, layer, config);
    const reg = await fakeRegistry(m, MEDIA_TYPE_MANIFEST, {
      [sha256Digest(layer)]: Buffer.concat([layer, Buffer.from("and more")]),
      [sha256Digest(config)]: config,
    });
    const cs = new ContentStore(dir);
    await expect(pullImage(cs, `${reg.host}/t/app:1`)).rejects.toThrow(
      /sends \d+ bytes, the manifest says 14/,
    );
    expect(await cs.has(sha256Digest(layer))).toBe(false);
    expect(existsSync(join(dir, "ingest")) ? readdirSync(join(dir, "ingest")) : []).toEqual([]);
  });
});
