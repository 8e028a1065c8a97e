/**
 * The distribution API endpoint by endpoint, over real HTTP on 127.0.0.1: the token flow,
 * uploads (monolithic, single-request, chunked with a gap, cancel, wrong digest), mounts,
 * manifests (OCI, Docker, indexes, 4 MB+), tags and catalog pagination, referrers, deletes,
 * the spec's error codes and who may do what.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { newId } from "@berth/core";
import { and, eq, teamMembers, teams } from "@berth/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, ADMIN_PASSWORD, createFixture, type Fixture } from "../testing/fixtures";
import { fetchToken, startRegistryServer, type RegistryServer } from "../testing/registry-server";
import { OCI_MANIFEST, ociManifest, sha } from "../testing/oci";
import { httpCall, type HttpCallOptions } from "../testing/test-server";

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

let f: Fixture;
let srv: RegistryServer;
const creds = {
  admin: { user: "admin", password: ADMIN_PASSWORD },
  owen: { user: "owen", password: "owner-pass-1" },
  otto: { user: "otto", password: "operator-pass-1" },
  vera: { user: "vera", password: "viewer-pass-1" },
  olga: { user: "olga", password: "other-pass-1" },
};

async function tokenFor(who: keyof typeof creds, scopes: string[]): Promise<string> {
  const t = await fetchToken(srv.url, creds[who], scopes);
  expect(t.status).toBe(200);
  return t.token!;
}

const call = (method: string, path: string, opts?: HttpCallOptions) =>
  httpCall(srv.url, method, path, opts);

function codeOf(json: unknown): string | undefined {
  return (json as { errors?: { code: string }[] } | null)?.errors?.[0]?.code;
}

/** Monolithic upload (POST + PUT ?digest=); returns the digest. */
async function pushBlob(token: string, repo: string, data: Buffer): Promise<string> {
  const d = sha(data);
  const start = await call("POST", `/v2/${repo}/blobs/uploads/`, { token });
  expect(start.status).toBe(202);
  const loc = start.headers.get("location")!;
  const put = await call("PUT", `${loc}?digest=${d}`, {
    token,
    body: data,
    headers: { "content-type": "application/octet-stream" },
  });
  expect(put.status).toBe(201);
  return d;
}

const imageManifest = (config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}) =>
  ociManifest(config, layers, {
    layerMediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    extra,
  });

beforeAll(async () => {
  f = await createFixture();
  await addUser(f, "owen", { role: "owner", password: creds.owen.password });
  await addUser(f, "otto", { role: "operator", password: creds.otto.password });
  await addUser(f, "vera", { role: "viewer", password: creds.vera.password });
  const olga = await addUser(f, "olga", { role: "viewer", password: creds.olga.password });
  // olga owns team "other" and is no member of default.
  f.db
    .delete(teamMembers)
    .where(and(eq(teamMembers.userId, olga), eq(teamMembers.teamId, f.defaultTeamId)))
    .run();
  const other = newId();
  f.db.insert(teams).values({ id: other, name: "other" }).run();
  f.db.insert(teamMembers).values({ teamId: other, userId: olga, role: "owner" }).run();
  srv = await startRegistryServer(f);
});
afterAll(async () => {
  await srv.close();
  await f.close();
});

describe("auth", () => {
  it("challenges an anonymous /v2/ and accepts a token", async () => {
    const r = await call("GET", "/v2/");
    expect(r.status).toBe(401);
    expect(codeOf(r.json)).toBe("UNAUTHORIZED");
    expect(r.headers.get("www-authenticate")).toBe(
      `Bearer realm="${srv.url}/v2/token",service="berth"`,
    );
    expect(r.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    const ok = await call("GET", "/v2/", { token: await tokenFor("vera", []) });
    expect(ok.status).toBe(200);
  });

  it("names the scope in the challenge of a repository request", async () => {
    const r = await call("POST", "/v2/default/app/blobs/uploads/");
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe(
      `Bearer realm="${srv.url}/v2/token",service="berth",scope="repository:default/app:pull,push"`,
    );
  });

  it("refuses wrong passwords at the token endpoint and audits it", async () => {
    const t = await fetchToken(srv.url, { user: "otto", password: "nope" }, []);
    expect(t.status).toBe(401);
    expect(codeOf(t.body)).toBe("UNAUTHORIZED");
    const row = f.services.audit.recent(10).find((e) => e.action === "registry.login");
    expect(row).toMatchObject({ result: "denied", actorName: "otto" });
  });

  it("takes an API token as the password, and as a Bearer token directly", async () => {
    const user = f.services.auth.userForApiToken("berth_nothing");
    expect(user).toBeNull();
    const owner = f.db
      .select()
      .from(teamMembers)
      .all()
      .find((m) => m.role === "operator")!;
    const { token } = f.services.auth.createApiToken(owner.userId, "ci");
    const t = await fetchToken(srv.url, { user: "anything", password: token }, [
      "repository:default/app:pull,push,delete",
    ]);
    expect(t.status).toBe(200);
    const claims = JSON.parse(Buffer.from(t.token!.split(".")[1]!, "base64url").toString()) as {
      access: { name: string; actions: string[] }[];
      exp: number;
      iat: number;
    };
    // An operator gets pull and push, not delete; five minutes.
    expect(claims.access).toEqual([
      { type: "repository", name: "default/app", actions: ["pull", "push"] },
    ]);
    expect(claims.exp - claims.iat).toBe(300);
    const direct = await call("POST", "/v2/default/direct/blobs/uploads/", { token });
    expect(direct.status).toBe(202);
  });

  it("rejects a tampered token", async () => {
    const t = await tokenFor("admin", ["repository:default/app:pull"]);
    const parts = t.split(".");
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString()) as {
      access: { actions: string[] }[];
    };
    claims.access[0]!.actions = ["pull", "push", "delete"];
    const forged = `${parts[0]}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${parts[2]}`;
    const r = await call("GET", "/v2/default/app/tags/list", { token: forged });
    expect(r.status).toBe(401);
    expect(codeOf(r.json)).toBe("UNAUTHORIZED");
  });

  it("a token used beyond its scope: 401 insufficient_scope if the role allows, DENIED if not", async () => {
    const pullOnly = await tokenFor("otto", ["repository:default/app:pull"]);
    const r = await call("POST", "/v2/default/app/blobs/uploads/", { token: pullOnly });
    expect(r.status).toBe(401);
    expect(codeOf(r.json)).toBe("UNAUTHORIZED");
    expect(r.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    // Another repository than the token's.
    const other = await call("GET", "/v2/default/elsewhere/tags/list", { token: pullOnly });
    expect(other.status).toBe(401);

    // A viewer asking for push gets a pull-only token, and the push is DENIED.
    const viewer = await tokenFor("vera", ["repository:default/app:pull,push"]);
    const denied = await call("POST", "/v2/default/app/blobs/uploads/", { token: viewer });
    expect(denied.status).toBe(403);
    expect(codeOf(denied.json)).toBe("DENIED");
    const row = f.services.audit.recent(5).find((e) => e.result === "denied");
    expect(row).toMatchObject({
      action: "registry.push",
      actorName: "vera",
      target: "default/app",
    });
    // Another team's repository.
    const foreign = await call("GET", "/v2/other/secret/tags/list", {
      token: await tokenFor("vera", ["repository:other/secret:pull"]),
    });
    expect(foreign.status).toBe(403);
    expect(codeOf(foreign.json)).toBe("DENIED");
  });
});

describe("names and digests", () => {
  it("NAME_INVALID for names breaking the spec's regex", async () => {
    const t = await tokenFor("admin", []);
    for (const bad of ["Default/App", "default/a..b", "default/-x", "default//x"]) {
      const r = await call("GET", `/v2/${bad}/tags/list`, { token: t });
      expect(r.status, bad).toBe(400);
      expect(codeOf(r.json), bad).toBe("NAME_INVALID");
    }
  });

  it("DIGEST_INVALID for a malformed digest, UNSUPPORTED for another algorithm", async () => {
    const t = await tokenFor("admin", ["repository:default/app:pull"]);
    const r = await call("GET", "/v2/default/app/blobs/sha256:xyz", { token: t });
    expect(r.status).toBe(400);
    expect(codeOf(r.json)).toBe("DIGEST_INVALID");
    const r2 = await call("GET", `/v2/default/app/blobs/sha512:${"a".repeat(128)}`, { token: t });
    expect(codeOf(r2.json)).toBe("UNSUPPORTED");
  });
});

describe("blobs and uploads", () => {
  const repo = "default/blobs";
  let t: string;
  beforeAll(async () => {
    t = await tokenFor("owen", [`repository:${repo}:pull,push,delete`]);
  });

  it("monolithic upload, HEAD, GET and ranged GET", async () => {
    const data = randomBytes(100_000);
    const d = await pushBlob(t, repo, data);
    const head = await call("HEAD", `/v2/${repo}/blobs/${d}`, { token: t });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("100000");
    expect(head.headers.get("docker-content-digest")).toBe(d);
    const get = await call("GET", `/v2/${repo}/blobs/${d}`, { token: t });
    expect(get.buf.equals(data)).toBe(true);
    const part = await call("GET", `/v2/${repo}/blobs/${d}`, {
      token: t,
      headers: { range: "bytes=10-19" },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/100000");
    expect(part.buf.equals(data.subarray(10, 20))).toBe(true);
    const bad = await call("GET", `/v2/${repo}/blobs/${d}`, {
      token: t,
      headers: { range: "bytes=200000-" },
    });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe("bytes */100000");
  });

  it("single-request upload (POST ?digest=)", async () => {
    const data = Buffer.from("single request blob");
    const r = await call("POST", `/v2/${repo}/blobs/uploads/?digest=${sha(data)}`, {
      token: t,
      body: data,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`/v2/${repo}/blobs/${sha(data)}`);
    expect(
      (await call("GET", `/v2/${repo}/blobs/${sha(data)}`, { token: t })).buf.equals(data),
    ).toBe(true);
  });

  it("chunked upload: status, a gap → 416, resume, complete", async () => {
    const data = randomBytes(30);
    const start = await call("POST", `/v2/${repo}/blobs/uploads/`, { token: t });
    const loc = start.headers.get("location")!;
    expect(start.headers.get("range")).toBe("0-0");
    const uuid = start.headers.get("docker-upload-uuid")!;
    expect(loc).toBe(`/v2/${repo}/blobs/uploads/${uuid}`);
    const c1 = await call("PATCH", loc, {
      token: t,
      body: data.subarray(0, 10),
      headers: { "content-range": "0-9", "content-type": "application/octet-stream" },
    });
    expect(c1.status).toBe(202);
    expect(c1.headers.get("range")).toBe("0-9");
    const status = await call("GET", loc, { token: t });
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-9");
    const gap = await call("PATCH", loc, {
      token: t,
      body: data.subarray(20, 30),
      headers: { "content-range": "20-29", "content-type": "application/octet-stream" },
    });
    expect(gap.status).toBe(416);
    expect(gap.headers.get("range")).toBe("0-9");
    const c2 = await call("PATCH", loc, {
      token: t,
      body: data.subarray(10, 20),
      headers: { "content-range": "10-19", "content-type": "application/octet-stream" },
    });
    expect(c2.headers.get("range")).toBe("0-19");
    const put = await call("PUT", `${loc}?digest=${sha(data)}`, {
      token: t,
      body: data.subarray(20),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(put.status).toBe(201);
    expect(
      (await call("GET", `/v2/${repo}/blobs/${sha(data)}`, { token: t })).buf.equals(data),
    ).toBe(true);
    // The finished upload is gone.
    const after = await call("GET", loc, { token: t });
    expect(after.status).toBe(404);
    expect(codeOf(after.json)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("a wrong digest → DIGEST_INVALID and nothing stored", async () => {
    const data = Buffer.from("these bytes are not what the digest says");
    const wrong = sha("something else");
    const start = await call("POST", `/v2/${repo}/blobs/uploads/`, { token: t });
    const loc = start.headers.get("location")!;
    const put = await call("PUT", `${loc}?digest=${wrong}`, { token: t, body: data });
    expect(put.status).toBe(400);
    expect(codeOf(put.json)).toBe("DIGEST_INVALID");
    for (const d of [wrong, sha(data)]) {
      expect((await call("HEAD", `/v2/${repo}/blobs/${d}`, { token: t })).status).toBe(404);
      expect(existsSync(srv.storage.blobPath(d))).toBe(false);
    }
    expect((await call("GET", loc, { token: t })).status).toBe(404);
    const single = await call("POST", `/v2/${repo}/blobs/uploads/?digest=${wrong}`, {
      token: t,
      body: data,
    });
    expect(codeOf(single.json)).toBe("DIGEST_INVALID");
    expect(existsSync(srv.storage.blobPath(sha(data)))).toBe(false);
    // The PUT without a digest.
    const s2 = await call("POST", `/v2/${repo}/blobs/uploads/`, { token: t });
    const noDigest = await call("PUT", s2.headers.get("location")!, { token: t });
    expect(codeOf(noDigest.json)).toBe("DIGEST_INVALID");
  });

  it("cancel → 204, then BLOB_UPLOAD_UNKNOWN", async () => {
    const start = await call("POST", `/v2/${repo}/blobs/uploads/`, { token: t });
    const loc = start.headers.get("location")!;
    expect((await call("DELETE", loc, { token: t })).status).toBe(204);
    const r = await call("PATCH", loc, { token: t, body: "x" });
    expect(r.status).toBe(404);
    expect(codeOf(r.json)).toBe("BLOB_UPLOAD_UNKNOWN");
    const bogus = await call("GET", `/v2/${repo}/blobs/uploads/not-a-uuid`, { token: t });
    expect(codeOf(bogus.json)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("an upload of another repository is unknown here", async () => {
    const start = await call("POST", `/v2/${repo}/blobs/uploads/`, { token: t });
    const uuid = start.headers.get("docker-upload-uuid")!;
    const t2 = await tokenFor("owen", ["repository:default/thief:pull,push"]);
    const r = await call("GET", `/v2/default/thief/blobs/uploads/${uuid}`, { token: t2 });
    expect(codeOf(r.json)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("cross-repository mount only from a repository the caller may pull", async () => {
    const data = Buffer.from("mount me");
    const d = await pushBlob(t, repo, data);
    const t2 = await tokenFor("owen", [
      "repository:default/mounted:pull,push",
      `repository:${repo}:pull`,
    ]);
    const m = await call("POST", `/v2/default/mounted/blobs/uploads/?mount=${d}&from=${repo}`, {
      token: t2,
    });
    expect(m.status).toBe(201);
    expect(m.headers.get("docker-content-digest")).toBe(d);
    expect(
      (await call("GET", `/v2/default/mounted/blobs/${d}`, { token: t2 })).buf.equals(data),
    ).toBe(true);
    // olga owns "other" but may not pull default/blobs → a plain upload session instead.
    const t3 = await tokenFor("olga", [
      "repository:other/copy:pull,push",
      `repository:${repo}:pull`,
    ]);
    const refused = await call("POST", `/v2/other/copy/blobs/uploads/?mount=${d}&from=${repo}`, {
      token: t3,
    });
    expect(refused.status).toBe(202);
    expect((await call("HEAD", `/v2/other/copy/blobs/${d}`, { token: t3 })).status).toBe(404);
  });

  it("blob delete: DENIED for operators, 202 for owners, then BLOB_UNKNOWN", async () => {
    const d = await pushBlob(t, repo, Buffer.from("delete me"));
    const op = await tokenFor("otto", [`repository:${repo}:*`]);
    const denied = await call("DELETE", `/v2/${repo}/blobs/${d}`, { token: op });
    expect(denied.status).toBe(403);
    expect(codeOf(denied.json)).toBe("DENIED");
    expect((await call("DELETE", `/v2/${repo}/blobs/${d}`, { token: t })).status).toBe(202);
    const gone = await call("GET", `/v2/${repo}/blobs/${d}`, { token: t });
    expect(gone.status).toBe(404);
    expect(codeOf(gone.json)).toBe("BLOB_UNKNOWN");
  });
});

describe("manifests, tags, referrers, catalog", () => {
  const repo = "default/img";
  let t: string;
  let config: Buffer;
  let layer: Buffer;
  beforeAll(async () => {
    t = await tokenFor("owen", [`repository:${repo}:pull,push,delete`]);
    config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: [] },
      }),
    );
    layer = randomBytes(2048);
    await pushBlob(t, repo, config);
    await pushBlob(t, repo, layer);
  });

  it("validates: MANIFEST_INVALID, MANIFEST_BLOB_UNKNOWN, DIGEST_INVALID, TAG_INVALID", async () => {
    const notJson = await call("PUT", `/v2/${repo}/manifests/x`, {
      token: t,
      body: "{nope",
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(notJson.status).toBe(400);
    expect(codeOf(notJson.json)).toBe("MANIFEST_INVALID");
    const mismatch = await call("PUT", `/v2/${repo}/manifests/x`, {
      token: t,
      body: imageManifest(config, [layer]),
      headers: { "content-type": DOCKER_MANIFEST },
    });
    expect(codeOf(mismatch.json)).toBe("MANIFEST_INVALID");
    const missing = await call("PUT", `/v2/${repo}/manifests/x`, {
      token: t,
      body: imageManifest(config, [randomBytes(10)]),
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(missing.status).toBe(400);
    expect(codeOf(missing.json)).toBe("MANIFEST_BLOB_UNKNOWN");
    const byDigest = await call("PUT", `/v2/${repo}/manifests/${sha("other")}`, {
      token: t,
      body: imageManifest(config, [layer]),
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(codeOf(byDigest.json)).toBe("DIGEST_INVALID");
    const badTag = await call("PUT", `/v2/${repo}/manifests/-bad`, {
      token: t,
      body: imageManifest(config, [layer]),
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(codeOf(badTag.json)).toBe("TAG_INVALID");
    const unknown = await call("GET", `/v2/${repo}/manifests/nope`, { token: t });
    expect(unknown.status).toBe(404);
    expect(codeOf(unknown.json)).toBe("MANIFEST_UNKNOWN");
  });

  it("OCI and Docker manifests by tag and digest; an index; a manifest over 4 MB", async () => {
    const m = imageManifest(config, [layer]);
    const put = await call("PUT", `/v2/${repo}/manifests/v1`, {
      token: t,
      body: m,
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get("docker-content-digest")).toBe(sha(m));
    expect(put.headers.get("location")).toBe(`/v2/${repo}/manifests/${sha(m)}`);
    for (const ref of ["v1", sha(m)]) {
      const g = await call("GET", `/v2/${repo}/manifests/${ref}`, { token: t });
      expect(g.status).toBe(200);
      expect(g.headers.get("content-type")).toBe(OCI_MANIFEST);
      expect(g.buf.equals(m)).toBe(true);
      const h = await call("HEAD", `/v2/${repo}/manifests/${ref}`, { token: t });
      expect(h.headers.get("docker-content-digest")).toBe(sha(m));
      expect(h.headers.get("content-length")).toBe(String(m.length));
    }
    const dm = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: {
          mediaType: "application/vnd.docker.container.image.v1+json",
          digest: sha(config),
          size: config.length,
        },
        layers: [
          {
            mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
            digest: sha(layer),
            size: layer.length,
          },
        ],
      }),
    );
    const pd = await call("PUT", `/v2/${repo}/manifests/${sha(dm)}`, {
      token: t,
      body: dm,
      headers: { "content-type": DOCKER_MANIFEST },
    });
    expect(pd.status).toBe(201);
    expect(
      (await call("GET", `/v2/${repo}/manifests/${sha(dm)}`, { token: t })).headers.get(
        "content-type",
      ),
    ).toBe(DOCKER_MANIFEST);
    const index = (children: string[]) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: children.map((digest) => ({
            mediaType: OCI_MANIFEST,
            digest,
            size: m.length,
            platform: { os: "linux", architecture: "amd64" },
          })),
        }),
      );
    const badIndex = await call("PUT", `/v2/${repo}/manifests/multi`, {
      token: t,
      body: index([sha("nothing")]),
      headers: { "content-type": OCI_INDEX },
    });
    expect(codeOf(badIndex.json)).toBe("MANIFEST_BLOB_UNKNOWN");
    const idx = await call("PUT", `/v2/${repo}/manifests/multi`, {
      token: t,
      body: index([sha(m)]),
      headers: { "content-type": OCI_INDEX },
    });
    expect(idx.status).toBe(201);
    // 4.5 MB of annotations.
    const big = imageManifest(config, [layer], { annotations: { blob: "x".repeat(4_500_000) } });
    const pb = await call("PUT", `/v2/${repo}/manifests/big`, {
      token: t,
      body: big,
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(pb.status).toBe(201);
    expect((await call("GET", `/v2/${repo}/manifests/big`, { token: t })).buf.equals(big)).toBe(
      true,
    );
    const huge = imageManifest(config, [layer], {
      annotations: { blob: "x".repeat(9 * 1024 * 1024) },
    });
    const ph = await call("PUT", `/v2/${repo}/manifests/huge`, {
      token: t,
      body: huge,
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(ph.status).toBe(413);
    expect(codeOf(ph.json)).toBe("SIZE_INVALID");
    const audit = f.services.audit
      .recent(10)
      .find((e) => e.action === "registry.push" && e.result === "ok");
    expect(audit?.target).toBe(`${repo}:big@${sha(big)}`);
  });

  it("tags/list paginates with n, last and Link; NAME_UNKNOWN for no repository", async () => {
    const m = imageManifest(config, [layer]);
    for (const tag of ["a", "b", "c", "d"])
      await call("PUT", `/v2/${repo}/manifests/${tag}`, {
        token: t,
        body: m,
        headers: { "content-type": OCI_MANIFEST },
      });
    const all = await call("GET", `/v2/${repo}/tags/list`, { token: t });
    expect((all.json as { tags: string[] }).tags).toEqual([
      "a",
      "b",
      "big",
      "c",
      "d",
      "multi",
      "v1",
    ]);
    const p1 = await call("GET", `/v2/${repo}/tags/list?n=2`, { token: t });
    expect(p1.json).toEqual({ name: repo, tags: ["a", "b"] });
    expect(p1.headers.get("link")).toBe(`</v2/${repo}/tags/list?n=2&last=b>; rel="next"`);
    const p2 = await call("GET", `/v2/${repo}/tags/list?n=2&last=b`, { token: t });
    expect((p2.json as { tags: string[] }).tags).toEqual(["big", "c"]);
    const p4 = await call("GET", `/v2/${repo}/tags/list?n=2&last=multi`, { token: t });
    expect((p4.json as { tags: string[] }).tags).toEqual(["v1"]);
    expect(p4.headers.get("link")).toBeNull();
    const none = await call("GET", "/v2/default/never/tags/list", {
      token: await tokenFor("owen", ["repository:default/never:pull"]),
    });
    expect(none.status).toBe(404);
    expect(codeOf(none.json)).toBe("NAME_UNKNOWN");
  });

  it("referrers list manifests whose subject is the digest", async () => {
    const m = imageManifest(config, [layer]);
    const artifact = imageManifest(config, [], {
      artifactType: "application/vnd.example.sbom",
      subject: { mediaType: OCI_MANIFEST, digest: sha(m), size: m.length },
    });
    const put = await call("PUT", `/v2/${repo}/manifests/${sha(artifact)}`, {
      token: t,
      body: artifact,
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get("oci-subject")).toBe(sha(m));
    const r = await call("GET", `/v2/${repo}/referrers/${sha(m)}`, { token: t });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(OCI_INDEX);
    expect((r.json as { manifests: { digest: string; artifactType: string }[] }).manifests).toEqual(
      [
        expect.objectContaining({
          digest: sha(artifact),
          artifactType: "application/vnd.example.sbom",
        }),
      ],
    );
    const filtered = await call("GET", `/v2/${repo}/referrers/${sha(m)}?artifactType=other`, {
      token: t,
    });
    expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
    expect((filtered.json as { manifests: unknown[] }).manifests).toEqual([]);
  });

  it("_catalog shows only what the caller may pull, paginated", async () => {
    const ot = await tokenFor("olga", ["repository:other/secret:pull,push"]);
    const cfg = Buffer.from("{}");
    await pushBlob(ot, "other/secret", cfg);
    const m = imageManifest(cfg, []);
    expect(
      (
        await call("PUT", "/v2/other/secret/manifests/1", {
          token: ot,
          body: m,
          headers: { "content-type": OCI_MANIFEST },
        })
      ).status,
    ).toBe(201);
    const vera = await call("GET", "/v2/_catalog", { token: await tokenFor("vera", []) });
    const veraRepos = (vera.json as { repositories: string[] }).repositories;
    expect(veraRepos).toContain(repo);
    expect(veraRepos).not.toContain("other/secret");
    const olga = await call("GET", "/v2/_catalog", { token: await tokenFor("olga", []) });
    expect((olga.json as { repositories: string[] }).repositories).toEqual(["other/secret"]);
    const admin = await call("GET", "/v2/_catalog?n=1", { token: await tokenFor("admin", []) });
    expect((admin.json as { repositories: string[] }).repositories).toHaveLength(1);
    expect(admin.headers.get("link")).toMatch(/^<\/v2\/_catalog\?n=1&last=.+>; rel="next"$/);
    const anon = await call("GET", "/v2/_catalog");
    expect(anon.status).toBe(401);
  });

  it("manifest delete by tag and by digest (owners only)", async () => {
    const m = imageManifest(config, [layer]);
    const op = await tokenFor("otto", [`repository:${repo}:pull,push,delete`]);
    const denied = await call("DELETE", `/v2/${repo}/manifests/${sha(m)}`, { token: op });
    expect(codeOf(denied.json)).toBe("DENIED");
    expect((await call("DELETE", `/v2/${repo}/manifests/a`, { token: t })).status).toBe(202);
    expect((await call("GET", `/v2/${repo}/manifests/a`, { token: t })).status).toBe(404);
    expect((await call("GET", `/v2/${repo}/manifests/b`, { token: t })).status).toBe(200);
    expect((await call("DELETE", `/v2/${repo}/manifests/${sha(m)}`, { token: t })).status).toBe(
      202,
    );
    const gone = await call("GET", `/v2/${repo}/manifests/b`, { token: t });
    expect(codeOf(gone.json)).toBe("MANIFEST_UNKNOWN");
    const again = await call("DELETE", `/v2/${repo}/manifests/${sha(m)}`, { token: t });
    expect(codeOf(again.json)).toBe("MANIFEST_UNKNOWN");
    const row = f.services.audit.recent(5).find((e) => e.action === "registry.delete");
    expect(row).toMatchObject({ result: "ok", actorName: "owen", target: `${repo}@${sha(m)}` });
  });
});

it("keeps the token key private (0600) in the data dir", async () => {
  const { statSync } = await import("node:fs");
  expect(statSync(join(srv.dataDir, "registry-token.key")).mode & 0o777).toBe(0o600);
});
