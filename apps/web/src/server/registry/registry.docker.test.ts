/**
 * The registry with the real Docker engine as its client: a private dockerd (started here, on
 * its own socket and roots) loads a busybox image made on the spot, logs in to Berth's registry
 * with a user's password and with an API token, pushes, forgets the image, pulls it back (same
 * manifest digest as the registry stores, same image id), and a viewer's push fails with
 * docker's "denied". Needs root and Debian's docker.io (scripts/setup.sh --test); in CI it must
 * run, elsewhere it is skipped when either is missing.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, ADMIN_PASSWORD, createFixture, type Fixture } from "../testing/fixtures";
import { startRegistryServer, type RegistryServer } from "../testing/registry-server";
import { dockerUnavailable, startDockerd, type Dockerd } from "./test-helpers/dockerd";

const unavailable = dockerUnavailable();
if (unavailable && process.env.CI === "true")
  throw new Error(`registry.docker.test.ts must run in CI: ${unavailable}`);
if (unavailable) console.warn(`SKIPPED registry.docker.test.ts: ${unavailable}`);

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/**
 * A `docker save`-format archive of a busybox image (busybox-static, `sh` and `echo` links and
 * a random file, so each run's layer is new), tagged `tag`. Returns the archive's path and the
 * image id (its config's digest).
 */
function busyboxArchive(dir: string, tag: string): { path: string; imageId: string } {
  const root = join(dir, "rootfs");
  mkdirSync(join(root, "bin"), { recursive: true });
  mkdirSync(join(root, "etc"));
  copyFileSync("/bin/busybox", join(root, "bin", "busybox"));
  for (const a of ["sh", "echo", "cat"]) symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc", "berth-test"), randomBytes(256 * 1024));
  const t = spawnSync(
    "tar",
    ["-C", root, "--numeric-owner", "--owner=0", "--group=0", "-cf", "-", "."],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  if (t.status !== 0) throw new Error(`tar failed: ${t.stderr.toString()}`);
  const layer = t.stdout;
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2026-01-01T00:00:00Z",
      config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: [sha(layer)] },
      history: [{ created: "2026-01-01T00:00:00Z", created_by: "berth test" }],
    }),
  );
  const archive = join(dir, "archive");
  const layerDir = sha(layer).slice(7);
  mkdirSync(join(archive, layerDir), { recursive: true });
  writeFileSync(join(archive, layerDir, "layer.tar"), layer);
  const configName = `${sha(config).slice(7)}.json`;
  writeFileSync(join(archive, configName), config);
  writeFileSync(
    join(archive, "manifest.json"),
    JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: [`${layerDir}/layer.tar`] }]),
  );
  const out = join(dir, "image.tar");
  const p = spawnSync("tar", ["-C", archive, "-cf", out, "."]);
  if (p.status !== 0) throw new Error(`tar failed: ${p.stderr.toString()}`);
  return { path: out, imageId: sha(config) };
}

describe.skipIf(unavailable !== null)("registry with the Docker engine", () => {
  let f: Fixture;
  let srv: RegistryServer;
  let dockerd: Dockerd;
  let work: string;
  let imageId: string;

  beforeAll(async () => {
    f = await createFixture();
    await addUser(f, "vera", { role: "viewer", password: "viewer-pass-1" });
    await addUser(f, "otto", { role: "operator", password: "operator-pass-1" });
    srv = await startRegistryServer(f);
    work = mkdtempSync(join(tmpdir(), "berth-docker-test-"));
    dockerd = await startDockerd();
    const img = busyboxArchive(work, "berth-test/busybox:1");
    imageId = img.imageId;
    const load = await dockerd.docker(["load", "-i", img.path]);
    if (load.status !== 0) throw new Error(`docker load failed: ${load.err}`);
  }, 90_000);
  afterAll(async () => {
    await dockerd?.stop();
    await srv?.close();
    await f?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  const login = (user: string, password: string) =>
    dockerd.docker(["login", "--username", user, "--password-stdin", srv.host], {
      input: password,
    });

  it("logs in with a password, pushes, and pulls back the same digest", async () => {
    const l = await login("admin", ADMIN_PASSWORD);
    expect(l.err + l.out).toMatch(/Login Succeeded/);
    expect(l.status).toBe(0);

    const ref = `${srv.host}/default/busybox:1`;
    expect((await dockerd.docker(["tag", "berth-test/busybox:1", ref])).status).toBe(0);
    const push = await dockerd.docker(["push", ref]);
    expect(push.status, push.err).toBe(0);
    const pushed = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.out)?.[1];
    expect(pushed, push.out).toBeDefined();
    expect(await srv.storage.resolveTag("default/busybox", "1")).toBe(pushed);
    const stored = await srv.storage.manifest("default/busybox", pushed!);
    expect(stored?.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(sha(stored!.bytes)).toBe(pushed);

    // Forget it locally (both tags), then pull it back from Berth.
    expect((await dockerd.docker(["rmi", ref, "berth-test/busybox:1"])).status).toBe(0);
    expect((await dockerd.docker(["image", "inspect", imageId])).status).not.toBe(0);
    const pull = await dockerd.docker(["pull", ref]);
    expect(pull.status, pull.err).toBe(0);
    expect(pull.out).toContain(`Digest: ${pushed}`);
    const inspect = await dockerd.docker([
      "image",
      "inspect",
      "-f",
      "{{.Id}} {{json .RepoDigests}}",
      ref,
    ]);
    expect(inspect.status, inspect.err).toBe(0);
    const [id, digests] = inspect.out.trim().split(" ", 2);
    expect(id).toBe(imageId);
    expect(JSON.parse(digests!)).toEqual([`${srv.host}/default/busybox@${pushed}`]);
    // The registry answers a pull by digest too.
    const byDigest = await dockerd.docker(["pull", `${srv.host}/default/busybox@${pushed}`]);
    expect(byDigest.status, byDigest.err).toBe(0);

    const audit = f.services.audit.recent(100).map((e) => `${e.action}:${e.result}`);
    expect(audit).toContain("registry.push:ok");
    expect(audit).toContain("registry.pull:ok");
    expect((await dockerd.docker(["logout", srv.host])).status).toBe(0);
  }, 120_000);

  it("logs in with an API token and pushes to another repository (cross-repository mount)", async () => {
    const ottoId = (await f.services.auth.verifyPassword("otto", "operator-pass-1")).id;
    const { token } = f.services.auth.createApiToken(ottoId, "docker");
    const l = await login("otto", token);
    expect(l.status, l.err).toBe(0);
    const ref = `${srv.host}/default/copy:2`;
    expect((await dockerd.docker(["tag", `${srv.host}/default/busybox:1`, ref])).status).toBe(0);
    const push = await dockerd.docker(["push", ref]);
    expect(push.status, push.err).toBe(0);
    // Docker knew the layer came from default/busybox: it was mounted, not uploaded again.
    expect(push.out).toMatch(/Mounted from default\/busybox/);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.out)?.[1];
    expect(await srv.storage.resolveTag("default/copy", "2")).toBe(digest);
    const pushes = f.services.audit
      .recent(100)
      .filter((e) => e.action === "registry.push" && e.result === "ok" && e.actorName === "otto");
    expect(pushes.length).toBeGreaterThan(0);
    expect((await dockerd.docker(["logout", srv.host])).status).toBe(0);
  }, 120_000);

  it("refuses a viewer's push with docker's denied error, and a wrong password at login", async () => {
    const bad = await login("vera", "not-her-password");
    expect(bad.status).not.toBe(0);
    expect(bad.err).toMatch(/unauthorized|incorrect username or password/i);

    const l = await login("vera", "viewer-pass-1");
    expect(l.status, l.err).toBe(0);
    const ref = `${srv.host}/default/viewer-app:1`;
    expect((await dockerd.docker(["tag", `${srv.host}/default/busybox:1`, ref])).status).toBe(0);
    const push = await dockerd.docker(["push", ref]);
    expect(push.status).not.toBe(0);
    expect(push.err).toMatch(/denied: vera may not push default\/viewer-app/);
    expect(await srv.storage.tags("default/viewer-app")).toBeNull();
    // She may pull what the team has.
    const pull = await dockerd.docker(["pull", `${srv.host}/default/busybox:1`]);
    expect(pull.status, pull.err).toBe(0);
    const denied = f.services.audit
      .recent(100)
      .filter((e) => e.result === "denied" && e.actorName === "vera");
    expect(denied.length).toBeGreaterThan(0);
  }, 120_000);
});
