/**
 * Node credentials at the token endpoint and the `/v2/` API, over real HTTP on 127.0.0.1: a
 * node pulls on behalf of a team (Basic `node/<id>` + `account=<teamId>`) and gets that team's
 * pull right only — its own repositories and public ones; wrong secrets, unknown or offline
 * nodes, a missing team, another team's repositories and any push are refused, and the pull is
 * audited as the node for the team.
 */
import { randomBytes } from "node:crypto";
import { newId, newSecret } from "@berth/core";
import { eq, nodes, teams } from "@berth/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../security";
import { ADMIN_PASSWORD, createFixture, type Fixture } from "../testing/fixtures";
import { fetchToken, startRegistryServer, type RegistryServer } from "../testing/registry-server";
import { OCI_MANIFEST, ociManifest, sha } from "../testing/oci";
import { selfRegistryHosts } from "./registry-self";
import { RegistrySettings } from "./registry-settings";

let f: Fixture;
let srv: RegistryServer;
let nodeId: string;
let nodeCredential: string;
let otherTeamId: string;
let manifestDigest: string;

function basic(user: string, password: string) {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** A token request with a node's Basic credentials and `account`. */
async function nodeToken(opts: {
  user?: string;
  password?: string;
  account?: string | null;
  scopes: string[];
}) {
  const q = new URLSearchParams({ service: "berth" });
  for (const s of opts.scopes) q.append("scope", s);
  if (opts.account !== null) q.set("account", opts.account ?? f.defaultTeamId);
  const res = await fetch(`${srv.url}/v2/token?${q}`, {
    headers: {
      authorization: basic(opts.user ?? `node/${nodeId}`, opts.password ?? nodeCredential),
    },
  });
  const body = (await res.json()) as {
    token?: string;
    errors?: { code: string; message: string }[];
  };
  return { status: res.status, token: body.token ?? null, body };
}

function claimsOf(token: string): { sub: string; team?: string; access: unknown[] } {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as {
    sub: string;
    team?: string;
    access: unknown[];
  };
}

async function call(method: string, path: string, token: string, body?: Buffer) {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: new Uint8Array(body) }),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, buf };
}

/** Pushes a one-layer OCI image with the admin's token; returns the manifest digest. */
async function pushImage(repo: string): Promise<string> {
  const t = await fetchToken(srv.url, { user: "admin", password: ADMIN_PASSWORD }, [
    `repository:${repo}:pull,push`,
  ]);
  const token = t.token!;
  const layer = randomBytes(4096);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
  for (const b of [layer, config]) {
    const r = await call("POST", `/v2/${repo}/blobs/uploads/?digest=${sha(b)}`, token, b);
    expect(r.status).toBe(201);
  }
  const manifest = ociManifest(config, [layer]);
  const res = await fetch(`${srv.url}/v2/${repo}/manifests/1`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": OCI_MANIFEST },
    body: new Uint8Array(manifest),
  });
  expect(res.status).toBe(201);
  return sha(manifest);
}

beforeAll(async () => {
  f = await createFixture();
  srv = await startRegistryServer(f);
  const secret = newSecret();
  nodeId = newId();
  nodeCredential = `${nodeId}.${secret}`;
  f.db
    .insert(nodes)
    .values({ id: nodeId, name: "node-a", credentialHash: sha256Hex(secret), status: "online" })
    .run();
  otherTeamId = newId();
  f.db.insert(teams).values({ id: otherTeamId, name: "other" }).run();
  manifestDigest = await pushImage("default/app");
  await pushImage("other/secret");
});
afterAll(async () => {
  await srv.close();
  await f.close();
});

describe("node credentials at the token endpoint", () => {
  it("grants the team's pull on its own repository, as a node token for that team", async () => {
    const t = await nodeToken({ scopes: ["repository:default/app:pull"] });
    expect(t.status).toBe(200);
    const claims = claimsOf(t.token!);
    expect(claims.sub).toBe(`node:${nodeId}`);
    expect(claims.team).toBe(f.defaultTeamId);
    expect(claims.access).toEqual([{ type: "repository", name: "default/app", actions: ["pull"] }]);
    const m = await call("GET", `/v2/default/app/manifests/1`, t.token!);
    expect(m.status).toBe(200);
    expect(m.headers.get("docker-content-digest")).toBe(manifestDigest);
    const pulls = f.services.audit
      .recent(20)
      .filter((e) => e.action === "registry.pull" && e.actorName === "node:node-a");
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.teamId).toBe(f.defaultTeamId);
    expect(pulls[0]!.target).toBe(`default/app@${manifestDigest}`);
    expect(pulls[0]!.params).toMatchObject({ node: nodeId, onBehalfOfTeam: "default" });
  });

  it("never grants push or delete, and a push with a node token is DENIED", async () => {
    const t = await nodeToken({ scopes: ["repository:default/app:pull,push,delete"] });
    expect(t.status).toBe(200);
    expect(claimsOf(t.token!).access).toEqual([
      { type: "repository", name: "default/app", actions: ["pull"] },
    ]);
    const up = await call("POST", `/v2/default/app/blobs/uploads/`, t.token!);
    expect(up.status).toBe(403);
    expect(up.buf.toString()).toContain("node node-a may not push default/app for team default");
    const denied = f.services.audit
      .recent(20)
      .filter((e) => e.action === "registry.push" && e.result === "denied");
    expect(denied.some((e) => e.actorName === "node:node-a")).toBe(true);
  });

  it("grants nothing on another team's repository (the team's rights, not the node's)", async () => {
    const t = await nodeToken({ scopes: ["repository:other/secret:pull"] });
    expect(t.status).toBe(200);
    expect(claimsOf(t.token!).access).toEqual([]);
    // A token for the other team pulls it; one for default does not, even by digest.
    const theirs = await nodeToken({
      account: otherTeamId,
      scopes: ["repository:other/secret:pull"],
    });
    expect(claimsOf(theirs.token!).access).toHaveLength(1);
    const mine = await nodeToken({ scopes: ["repository:default/app:pull"] });
    const m = await call("GET", `/v2/other/secret/manifests/1`, mine.token!);
    expect(m.status).toBe(403);
  });

  it("grants pull on a public repository of another team", async () => {
    new RegistrySettings(f.db).setPublic("other/secret", otherTeamId, true);
    const t = await nodeToken({ scopes: ["repository:other/secret:pull"] });
    expect(claimsOf(t.token!).access).toEqual([
      { type: "repository", name: "other/secret", actions: ["pull"] },
    ]);
    new RegistrySettings(f.db).setPublic("other/secret", otherTeamId, false);
  });

  it("refuses a wrong secret, another node's id, a missing team and an offline node", async () => {
    const scopes = ["repository:default/app:pull"];
    const wrong = await nodeToken({ password: `${nodeId}.${newSecret()}`, scopes });
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors?.[0]?.message).toBe("invalid node credential");
    const otherId = await nodeToken({ user: `node/${newId()}`, scopes });
    expect(otherId.status).toBe(401);
    const noTeam = await nodeToken({ account: null, scopes });
    expect(noTeam.status).toBe(401);
    expect(noTeam.body.errors?.[0]?.message).toMatch(/account must name the team/);
    const badTeam = await nodeToken({ account: newId(), scopes });
    expect(badTeam.status).toBe(401);

    const ok = await nodeToken({ scopes });
    f.db.update(nodes).set({ status: "offline" }).where(eq(nodes.id, nodeId)).run();
    try {
      const offline = await nodeToken({ scopes });
      expect(offline.status).toBe(401);
      expect(offline.body.errors?.[0]?.message).toBe("node node-a is not online");
      // A token issued before is refused too once the node is gone offline.
      const m = await call("GET", `/v2/default/app/manifests/1`, ok.token!);
      expect(m.status).toBe(401);
    } finally {
      f.db.update(nodes).set({ status: "online" }).where(eq(nodes.id, nodeId)).run();
    }
    const failed = f.services.audit
      .recent(50)
      .filter((e) => e.action === "registry.login" && e.result === "denied");
    expect(failed.length).toBeGreaterThanOrEqual(4);
  });
});

describe("selfRegistryHosts", () => {
  it("spells the public URL's host as references do, with loopback aliases", () => {
    expect(selfRegistryHosts("https://berth.example.com")).toEqual([
      "berth.example.com",
      "berth.example.com:443",
    ]);
    expect(selfRegistryHosts("http://berth.lan:3000/")).toEqual(["berth.lan:3000"]);
    expect(selfRegistryHosts("http://127.0.0.1:3000")).toEqual([
      "127.0.0.1:3000",
      "localhost:3000",
      "[::1]:3000",
    ]);
  });

  it("makes the team's pull credential for the server's own registry {onBehalfOfTeam}", () => {
    // The fixture's public URL is http://127.0.0.1:9.
    expect(f.services.registries.pullCredentialFor(f.defaultTeamId, "127.0.0.1:9")).toEqual({
      onBehalfOfTeam: f.defaultTeamId,
    });
    expect(
      f.services.registries.credentialForImage(f.defaultTeamId, "localhost:9/default/app:1"),
    ).toEqual({ onBehalfOfTeam: f.defaultTeamId });
    // Elsewhere: the stored credential (none here).
    expect(
      f.services.registries.pullCredentialFor(f.defaultTeamId, "127.0.0.1:5000"),
    ).toBeUndefined();
    // Pushes never use the node credential.
    expect(f.services.registries.credentialFor(f.defaultTeamId, "127.0.0.1:9")).toBeUndefined();
  });
});
