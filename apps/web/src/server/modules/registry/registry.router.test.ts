/**
 * registry.* (the dashboard's view of berth-server's own registry) over a real registry on
 * 127.0.0.1: images are pushed through /v2/ with the token flow, then listed, inspected,
 * toggled and deleted through tRPC with each role's API token.
 */
import { randomBytes } from "node:crypto";
import { newId } from "@berth/core";
import { and, eq, teamMembers, teams } from "@berth/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../root";
import { OCI_MANIFEST, ociManifest, sha } from "../../testing/oci";
import {
  addUser,
  ADMIN_PASSWORD,
  contextFor,
  createFixture,
  type Fixture,
} from "../../testing/fixtures";
import {
  fetchToken,
  startRegistryServer,
  type RegistryServer,
} from "../../testing/registry-server";

let f: Fixture;
let srv: RegistryServer;
const ids: Record<"owen" | "otto" | "vera" | "olga", string> = {
  owen: "",
  otto: "",
  vera: "",
  olga: "",
};

const callerFor = (userId: string) =>
  createCaller(
    contextFor(f, {
      authorization: `Bearer ${f.services.auth.createApiToken(userId, "t").token}`,
    }),
  );

async function put(
  path: string,
  token: string,
  body: Buffer,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${srv.url}${path}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, ...headers },
    body: new Uint8Array(body),
  });
  expect(res.status).toBe(201);
}

/** Pushes config + layers + manifest as admin; returns the manifest digest and the image size. */
async function pushImage(repo: string, tag: string, layers: Buffer[]) {
  const t = await fetchToken(srv.url, { user: "admin", password: ADMIN_PASSWORD }, [
    `repository:${repo}:pull,push`,
  ]);
  const config = Buffer.from(JSON.stringify({ os: "linux", tag }));
  for (const b of [config, ...layers]) {
    const start = await fetch(`${srv.url}/v2/${repo}/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.token}` },
    });
    await put(`${start.headers.get("location")}?digest=${sha(b)}`, t.token!, b);
  }
  const m = ociManifest(config, layers);
  await put(`/v2/${repo}/manifests/${tag}`, t.token!, m, { "content-type": OCI_MANIFEST });
  return {
    digest: sha(m),
    size: m.length + config.length + layers.reduce((a, l) => a + l.length, 0),
  };
}

beforeAll(async () => {
  f = await createFixture();
  ids.owen = await addUser(f, "owen", { role: "owner" });
  ids.otto = await addUser(f, "otto", { role: "operator" });
  ids.vera = await addUser(f, "vera", { role: "viewer" });
  ids.olga = await addUser(f, "olga", { role: "viewer" });
  // olga belongs to team "other" only.
  f.db
    .delete(teamMembers)
    .where(and(eq(teamMembers.userId, ids.olga), eq(teamMembers.teamId, f.defaultTeamId)))
    .run();
  const other = newId();
  f.db.insert(teams).values({ id: other, name: "other" }).run();
  f.db.insert(teamMembers).values({ teamId: other, userId: ids.olga, role: "owner" }).run();
  srv = await startRegistryServer(f);
});
afterAll(async () => {
  await srv.close();
  await f.close();
});

describe("registry.*", () => {
  it("lists what the caller may pull, with tags, sizes, last push and pull", async () => {
    const layer = randomBytes(4000);
    const v1 = await pushImage("default/web", "v1", [layer]);
    const v2 = await pushImage("default/web", "v2", [layer, randomBytes(1000)]);
    await pushImage("other/tool", "latest", [randomBytes(300)]);

    const vera = callerFor(ids.vera);
    const repos = await vera.registry.repositories();
    expect(repos.map((r) => r.name)).toEqual(["default/web"]);
    const web = repos[0]!;
    expect(web).toMatchObject({
      team: "default",
      public: false,
      tagCount: 2,
      lastPullAt: null,
      canDelete: false,
      canPush: false,
    });
    expect(web.lastPushAt).toBeGreaterThan(Date.now() - 60_000);
    // Unique blobs: the shared layer counts once.
    expect(web.sizeBytes).toBe(v1.size + v2.size - layer.length);

    const tags = await vera.registry.tags({ repository: "default/web" });
    expect(tags.map((t) => [t.tag, t.digest, t.sizeBytes])).toEqual([
      ["v1", v1.digest, v1.size],
      ["v2", v2.digest, v2.size],
    ]);
    expect(tags[0]!.pushedAt).toBeGreaterThan(Date.now() - 60_000);

    // A pull through /v2/ is recorded.
    const t = await fetchToken(srv.url, { user: "admin", password: ADMIN_PASSWORD }, [
      "repository:default/web:pull",
    ]);
    const got = await fetch(`${srv.url}/v2/default/web/manifests/v1`, {
      headers: { authorization: `Bearer ${t.token}`, accept: OCI_MANIFEST },
    });
    expect(got.status).toBe(200);
    const after = (await vera.registry.repositories())[0]!;
    expect(after.lastPullAt).toBeGreaterThanOrEqual(after.lastPushAt!);

    // Owners and admins see their rights; admins see every team.
    expect((await callerFor(ids.owen).registry.repositories())[0]).toMatchObject({
      canDelete: true,
      canPush: true,
    });
    expect((await callerFor(f.adminId).registry.repositories()).map((r) => r.name)).toEqual([
      "default/web",
      "other/tool",
    ]);
    // Another team's private repository is "not found", as if it did not exist.
    await expect(callerFor(ids.olga).registry.tags({ repository: "default/web" })).rejects.toThrow(
      "no repository default/web",
    );
    await expect(vera.registry.tags({ repository: "Bad Name" })).rejects.toThrow(
      "not a valid repository name",
    );
  });

  it("public: owners toggle it, others see the repository read-only", async () => {
    await expect(
      callerFor(ids.otto).registry.setPublic({ repository: "default/web", public: true }),
    ).rejects.toThrow("your role (operator) does not allow registry.delete");
    await expect(
      callerFor(ids.owen).registry.setPublic({ repository: "default/nothing", public: true }),
    ).rejects.toThrow("no repository default/nothing");
    expect(
      await callerFor(ids.owen).registry.setPublic({ repository: "default/web", public: true }),
    ).toEqual({ repository: "default/web", public: true });
    const olga = await callerFor(ids.olga).registry.repositories();
    expect(olga.map((r) => [r.name, r.public, r.canDelete])).toEqual([
      ["default/web", true, false],
      ["other/tool", false, true],
    ]);
    expect((await callerFor(ids.olga).registry.tags({ repository: "default/web" })).length).toBe(2);
    await callerFor(ids.owen).registry.setPublic({ repository: "default/web", public: false });
    expect((await callerFor(ids.olga).registry.repositories()).map((r) => r.name)).toEqual([
      "other/tool",
    ]);
    const audit = f.services.audit.recent().filter((r) => r.action === "registry.setPublic");
    expect(audit.map((r) => r.result)).toEqual(["ok", "ok", "error", "denied"]);
  });

  it("deletes: owners only, audited; the repository's size follows", async () => {
    const web = () => callerFor(ids.owen).registry.tags({ repository: "default/web" });
    const [v1, v2] = await web();
    await expect(
      callerFor(ids.otto).registry.deleteTag({ repository: "default/web", tag: "v1" }),
    ).rejects.toThrow("your role (operator) does not allow registry.delete");
    await expect(
      callerFor(ids.vera).registry.deleteManifest({
        repository: "default/web",
        digest: v2!.digest,
      }),
    ).rejects.toThrow("your role (viewer) does not allow registry.delete");

    expect(
      await callerFor(ids.owen).registry.deleteTag({ repository: "default/web", tag: "v1" }),
    ).toEqual({ repository: "default/web", tag: "v1" });
    expect((await web()).map((t) => t.tag)).toEqual(["v2"]);
    await expect(
      callerFor(ids.owen).registry.deleteTag({ repository: "default/web", tag: "v1" }),
    ).rejects.toThrow("no tag default/web:v1");

    const before = (await callerFor(ids.owen).registry.repositories())[0]!.sizeBytes;
    await callerFor(ids.owen).registry.deleteManifest({
      repository: "default/web",
      digest: v2!.digest,
    });
    expect(await web()).toEqual([]);
    // The manifest revision is gone at once; its layers until the next GC.
    const size = (await callerFor(ids.owen).registry.repositories())[0]!.sizeBytes;
    expect(size).toBeLessThan(before);
    expect(v1!.digest).not.toBe(v2!.digest);

    const audit = f.services.audit
      .recent()
      .filter((r) => r.action === "registry.deleteTag" || r.action === "registry.deleteManifest");
    expect(audit.map((r) => [r.action, r.result, r.actorName])).toEqual([
      ["registry.deleteManifest", "ok", "owen"],
      ["registry.deleteTag", "error", "owen"],
      ["registry.deleteTag", "ok", "owen"],
      ["registry.deleteManifest", "denied", "vera"],
      ["registry.deleteTag", "denied", "otto"],
    ]);
  });

  it("info: the registry's host for pull commands", async () => {
    expect(await callerFor(ids.vera).registry.info()).toEqual({ host: "127.0.0.1:9" });
  });

  it("usage: the caller's team against its quota", async () => {
    const u = await callerFor(ids.vera).registry.usage();
    expect(u.team).toBe("default");
    expect(u.quotaBytes).toBeNull();
    expect(u.usedBytes).toBeGreaterThan(0);
    await callerFor(f.adminId).registry.setQuota({ team: "default", bytes: 10_000_000 });
    expect(await callerFor(ids.vera).registry.usage()).toEqual({
      team: "default",
      usedBytes: u.usedBytes,
      quotaBytes: 10_000_000,
    });
    expect((await callerFor(ids.olga).registry.usage()).team).toBe("other");
  });
});
