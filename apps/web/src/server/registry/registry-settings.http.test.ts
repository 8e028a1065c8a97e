/**
 * Repository settings over real HTTP on 127.0.0.1: a public repository's anonymous pull (the
 * token flow without credentials), everything else still refused with UNAUTHORIZED and its
 * challenge; and the per-team storage quota enforced when a blob upload completes, a mount
 * arrives or a manifest is pushed (DENIED with the quota and the usage, nothing stored).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { registryRepositories, eq } from "@berth/db";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCaller } from "../root";
import {
  addUser,
  ADMIN_PASSWORD,
  contextFor,
  createFixture,
  type Fixture,
} from "../testing/fixtures";
import { fetchToken, startRegistryServer, type RegistryServer } from "../testing/registry-server";
import { OCI_MANIFEST, ociManifest, sha } from "../testing/oci";
import { httpCall, type HttpCallOptions } from "../testing/test-server";

const admin = { user: "admin", password: ADMIN_PASSWORD };
const otto = { user: "otto", password: "operator-pass-1" };

let f: Fixture;
let srv: RegistryServer;
let ottoId: string;

const call = (method: string, path: string, opts?: HttpCallOptions) =>
  httpCall(srv.url, method, path, opts);
const errorOf = (json: unknown) =>
  (json as { errors?: { code: string; message: string; detail?: unknown }[] } | null)?.errors?.[0];

async function token(who: typeof admin | null, scopes: string[]) {
  const t = await fetchToken(srv.url, who, scopes);
  expect(t.status).toBe(200);
  return t.token!;
}

/** POST + PUT ?digest=; returns the final response. */
async function upload(tok: string, repo: string, data: Buffer) {
  const start = await call("POST", `/v2/${repo}/blobs/uploads/`, { token: tok });
  expect(start.status).toBe(202);
  return call("PUT", `${start.headers.get("location")!}?digest=${sha(data)}`, {
    token: tok,
    body: data,
  });
}

const manifestOf = (config: Buffer, layers: Buffer[]) => ociManifest(config, layers);

/** Pushes an image (config + layers + manifest under `tag`) as admin. */
async function pushImage(repo: string, tag: string, layers: Buffer[]) {
  const tok = await token(admin, [`repository:${repo}:pull,push`]);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", n: tag }));
  for (const b of [config, ...layers]) expect((await upload(tok, repo, b)).status).toBe(201);
  const m = manifestOf(config, layers);
  const put = await call("PUT", `/v2/${repo}/manifests/${tag}`, {
    token: tok,
    body: m,
    headers: { "content-type": OCI_MANIFEST },
  });
  expect(put.status).toBe(201);
  return sha(m);
}

const callerFor = (userId: string) =>
  createCaller(
    contextFor(f, {
      authorization: `Bearer ${f.services.auth.createApiToken(userId, "t").token}`,
    }),
  );

beforeAll(async () => {
  f = await createFixture();
  ottoId = await addUser(f, "otto", { role: "operator", password: otto.password });
  srv = await startRegistryServer(f);
});
afterAll(async () => {
  await srv.close();
  await f.close();
});

describe("public repositories", () => {
  it("anyone pulls a public repository through an anonymous token; private ones stay closed", async () => {
    const digest = await pushImage("default/pub", "v1", [randomBytes(100)]);
    await pushImage("default/priv", "v1", [randomBytes(100)]);
    await callerFor(f.adminId).registry.setPublic({ repository: "default/pub", public: true });
    expect(
      f.db
        .select()
        .from(registryRepositories)
        .where(eq(registryRepositories.name, "default/pub"))
        .get()?.public,
    ).toBe(true);

    // Without any token: the challenge, as for every repository (clients then fetch a token).
    const bare = await call("GET", "/v2/default/pub/manifests/v1");
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toContain('scope="repository:default/pub:pull"');

    const anon = await fetchToken(srv.url, null, [
      "repository:default/pub:pull,push",
      "repository:default/priv:pull",
    ]);
    expect(anon.status).toBe(200);
    const got = await call("GET", "/v2/default/pub/manifests/v1", {
      token: anon.token!,
      headers: { accept: OCI_MANIFEST },
    });
    expect(got.status).toBe(200);
    expect(got.headers.get("docker-content-digest")).toBe(digest);
    const layer = (JSON.parse(got.buf.toString()) as { layers: { digest: string }[] }).layers[0]!;
    expect(
      (await call("GET", `/v2/default/pub/blobs/${layer.digest}`, { token: anon.token! })).status,
    ).toBe(200);
    expect((await call("GET", "/v2/default/pub/tags/list", { token: anon.token! })).json).toEqual({
      name: "default/pub",
      tags: ["v1"],
    });

    // The private repository and pushing to the public one: UNAUTHORIZED with the challenge.
    const priv = await call("GET", "/v2/default/priv/manifests/v1", { token: anon.token! });
    expect(priv.status).toBe(401);
    expect(errorOf(priv.json)?.code).toBe("UNAUTHORIZED");
    expect(priv.headers.get("www-authenticate")).toContain('scope="repository:default/priv:pull"');
    const push = await call("POST", "/v2/default/pub/blobs/uploads/", { token: anon.token! });
    expect(push.status).toBe(401);
    expect(errorOf(push.json)?.code).toBe("UNAUTHORIZED");
    expect(push.headers.get("www-authenticate")).toContain(
      'scope="repository:default/pub:pull,push"',
    );
    // The catalog stays for signed-in callers.
    expect((await call("GET", "/v2/_catalog", { token: anon.token! })).status).toBe(401);

    // Made private again: the same anonymous token no longer pulls.
    await callerFor(f.adminId).registry.setPublic({ repository: "default/pub", public: false });
    expect((await call("GET", "/v2/default/pub/manifests/v1", { token: anon.token! })).status).toBe(
      401,
    );
  });
});

describe("quota", () => {
  beforeEach(async () => {
    await callerFor(f.adminId).registry.setQuota({ team: "default", bytes: null });
  });

  it("refuses the blob that would exceed the team's quota, with quota and usage in the error", async () => {
    const used = (await callerFor(f.adminId).registry.usage()).usedBytes;
    const quota = used + 3000;
    const u = await callerFor(f.adminId).registry.setQuota({ team: "default", bytes: quota });
    expect(u).toEqual({ team: "default", usedBytes: used, quotaBytes: quota });

    const tok = await token(otto, ["repository:default/q:pull,push"]);
    const a = randomBytes(2000);
    expect((await upload(tok, "default/q", a)).status).toBe(201);
    // The same blob again (or in another repository of the team) costs nothing.
    expect((await upload(tok, "default/q", a)).status).toBe(201);
    const tok2 = await token(otto, ["repository:default/q2:pull,push"]);
    expect((await upload(tok2, "default/q2", a)).status).toBe(201);

    const b = randomBytes(1500);
    const denied = await upload(tok, "default/q", b);
    expect(denied.status).toBe(403);
    const err = errorOf(denied.json)!;
    expect(err.code).toBe("DENIED");
    expect(err.message).toBe(
      `storage quota exceeded: team default uses ${used + 2000} of its ${quota} bytes and this blob needs 1500 more`,
    );
    expect(err.detail).toEqual({ team: "default", quota, usage: used + 2000, size: 1500 });
    expect(existsSync(srv.storage.blobPath(sha(b)))).toBe(false);
    const row = f.services.audit
      .recent()
      .find((r) => r.action === "registry.push" && r.result === "denied");
    expect(row?.target).toBe(`default/q@${sha(b)}`);
    expect(row?.actorName).toBe("otto");

    // Single-request upload (POST ?digest=) is checked the same way.
    const single = await call("POST", `/v2/default/q/blobs/uploads/?digest=${sha(b)}`, {
      token: tok,
      body: b,
    });
    expect(single.status).toBe(403);
    expect(errorOf(single.json)?.code).toBe("DENIED");

    // A mount from another team's repository adds to this team's usage: refused too.
    const big = randomBytes(1500);
    const atok = await token(admin, ["repository:elsewhere:pull,push"]);
    expect((await upload(atok, "elsewhere", big)).status).toBe(201);
    const mtok = await token(admin, [
      "repository:default/q:pull,push",
      "repository:elsewhere:pull",
    ]);
    const mount = await call(
      "POST",
      `/v2/default/q/blobs/uploads/?mount=${sha(big)}&from=elsewhere`,
      { token: mtok },
    );
    expect(mount.status).toBe(403);
    expect(errorOf(mount.json)?.code).toBe("DENIED");

    // Within the quota again once it is raised; null removes it.
    await callerFor(f.adminId).registry.setQuota({ team: "default", bytes: quota + 2000 });
    expect((await upload(tok, "default/q", b)).status).toBe(201);
    await callerFor(f.adminId).registry.setQuota({ team: "default", bytes: null });
    expect((await upload(tok, "default/q", randomBytes(5000))).status).toBe(201);
  });

  it("counts a manifest: a push whose manifest no longer fits is DENIED", async () => {
    const layer = randomBytes(500);
    const config = Buffer.from(JSON.stringify({ os: "linux", q: "m" }));
    const tok = await token(otto, ["repository:default/mq:pull,push"]);
    for (const b of [config, layer]) expect((await upload(tok, "default/mq", b)).status).toBe(201);
    const used = (await callerFor(f.adminId).registry.usage()).usedBytes;
    await callerFor(f.adminId).registry.setQuota({ team: "default", bytes: used + 10 });
    const put = await call("PUT", "/v2/default/mq/manifests/v1", {
      token: tok,
      body: manifestOf(config, [layer]),
      headers: { "content-type": OCI_MANIFEST },
    });
    expect(put.status).toBe(403);
    expect(errorOf(put.json)?.message).toContain(`uses ${used} of its ${used + 10} bytes`);
    expect((await call("GET", "/v2/default/mq/tags/list", { token: tok })).json).toEqual({
      name: "default/mq",
      tags: [],
    });
  });

  it("setQuota is for administrators, audited", async () => {
    await expect(
      callerFor(ottoId).registry.setQuota({ team: "default", bytes: 1 }),
    ).rejects.toThrow("only administrators may do this");
    await expect(
      callerFor(f.adminId).registry.setQuota({ team: "nope", bytes: 1 }),
    ).rejects.toThrow("no team nope");
    await expect(
      callerFor(f.adminId).registry.setQuota({ team: "default", bytes: -1 }),
    ).rejects.toThrow();
    await callerFor(f.adminId).registry.setQuota({ team: "default", bytes: 12345 });
    const rows = f.services.audit.recent().filter((r) => r.action === "registry.setQuota");
    expect(
      rows.some((r) => r.result === "error" && (r.params as { team: string }).team === "nope"),
    ).toBe(true);
    expect(rows.some((r) => r.result === "denied" && r.actorName === "otto")).toBe(true);
    expect(rows[0]!.result).toBe("ok");
    expect(rows[0]!.params).toEqual({ team: "default", bytes: 12345 });
  });
});
