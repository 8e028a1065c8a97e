/**
 * The registry with a real client: skopeo pushes an OCI layout image with a Berth user's
 * credentials, lists its tags, pulls it back byte-identical, deletes it by digest; a viewer's
 * push is refused.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, ADMIN_PASSWORD, createFixture, type Fixture } from "../testing/fixtures";
import { startRegistryServer, type RegistryServer } from "../testing/registry-server";

/** Debian's skopeo (apt, `scripts/setup.sh --test`): the client under test, not one from PATH. */
const SKOPEO = "/usr/bin/skopeo";

/** Runs skopeo without blocking the event loop (the registry answers from this process). */
function skopeo(args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      SKOPEO,
      args,
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (e, out, err) =>
        resolve({ status: e ? (typeof e.code === "number" ? e.code : -1) : 0, out, err }),
    );
  });
}

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Writes an OCI image layout with one random gzip layer (tar made by tar(1)) under `dir`. */
function buildLayout(dir: string, tag: string): { manifestDigest: string; blobs: string[] } {
  const root = join(dir, "rootfs");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "hello.txt"), "hello from berth\n");
  writeFileSync(join(root, "random.bin"), randomBytes(3 * 1024 * 1024 + 17));
  const t = spawnSync("tar", ["-C", root, "-cf", "-", "."], { maxBuffer: 64 * 1024 * 1024 });
  if (t.status !== 0) throw new Error(`tar failed: ${t.stderr.toString()}`);
  const tar = t.stdout;
  const layer = gzipSync(tar, { level: 1 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/hello.txt"] },
      rootfs: { type: "layers", diff_ids: [sha(tar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: sha(layer),
          size: layer.length,
        },
      ],
    }),
  );
  const layout = join(dir, "layout");
  mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });
  for (const b of [layer, config, manifest])
    writeFileSync(join(layout, "blobs", "sha256", sha(b).slice(7)), b);
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sha(manifest),
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return { manifestDigest: sha(manifest), blobs: [sha(layer), sha(config), sha(manifest)] };
}

describe("registry with skopeo", () => {
  let f: Fixture;
  let srv: RegistryServer;
  let work: string;

  beforeAll(async () => {
    f = await createFixture();
    await addUser(f, "vera", { role: "viewer", password: "viewer-pass-1" });
    srv = await startRegistryServer(f);
    work = mkdtempSync(join(tmpdir(), "berth-skopeo-"));
  });
  afterAll(async () => {
    await srv.close();
    await f.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("pushes, lists tags, pulls back byte-identical and deletes by digest", async () => {
    const { manifestDigest, blobs } = buildLayout(work, "1");
    const dest = `docker://${srv.host}/default/app:1`;
    const push = await skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      `admin:${ADMIN_PASSWORD}`,
      `oci:${join(work, "layout")}:1`,
      dest,
    ]);
    expect(push.err).not.toMatch(/level=(error|fatal)/);
    expect(push.status).toBe(0);

    const tags = await skopeo([
      "list-tags",
      "--tls-verify=false",
      "--creds",
      `admin:${ADMIN_PASSWORD}`,
      `docker://${srv.host}/default/app`,
    ]);
    expect(tags.status).toBe(0);
    expect(JSON.parse(tags.out)).toEqual({ Repository: `${srv.host}/default/app`, Tags: ["1"] });

    const out = join(work, "pulled");
    const pull = await skopeo([
      "copy",
      "--src-tls-verify=false",
      "--src-creds",
      `admin:${ADMIN_PASSWORD}`,
      dest,
      `oci:${out}:1`,
    ]);
    expect(pull.status, pull.err).toBe(0);
    const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    expect(index.manifests[0]!.digest).toBe(manifestDigest);
    const pulled = readdirSync(join(out, "blobs", "sha256")).map((h) => `sha256:${h}`);
    expect(pulled.sort()).toEqual([...blobs].sort());
    for (const d of blobs) {
      const a = readFileSync(join(work, "layout", "blobs", "sha256", d.slice(7)));
      const b = readFileSync(join(out, "blobs", "sha256", d.slice(7)));
      expect(sha(b)).toBe(d);
      expect(b.equals(a)).toBe(true);
    }

    const del = await skopeo([
      "delete",
      "--tls-verify=false",
      "--creds",
      `admin:${ADMIN_PASSWORD}`,
      `docker://${srv.host}/default/app@${manifestDigest}`,
    ]);
    expect(del.status, del.err).toBe(0);
    const gone = await skopeo([
      "inspect",
      "--tls-verify=false",
      "--creds",
      `admin:${ADMIN_PASSWORD}`,
      `docker://${srv.host}/default/app@${manifestDigest}`,
    ]);
    expect(gone.status).not.toBe(0);
    expect(gone.err).toMatch(/manifest unknown/i);

    const audit = f.services.audit.recent(50).map((e) => `${e.action}:${e.result}`);
    expect(audit).toContain("registry.push:ok");
    expect(audit).toContain("registry.pull:ok");
    expect(audit).toContain("registry.delete:ok");
  }, 60_000);

  it("refuses a viewer's push with DENIED", async () => {
    const push = await skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      "vera:viewer-pass-1",
      `oci:${join(work, "layout")}:1`,
      `docker://${srv.host}/default/viewer-app:1`,
    ]);
    expect(push.status).not.toBe(0);
    expect(push.err).toMatch(/denied/i);
    const denied = f.services.audit
      .recent(50)
      .filter((e) => e.result === "denied" && e.actorName === "vera");
    expect(denied.length).toBeGreaterThan(0);
  }, 60_000);

  it("refuses wrong credentials", async () => {
    const r = await skopeo([
      "list-tags",
      "--tls-verify=false",
      "--creds",
      "admin:wrong-password",
      `docker://${srv.host}/default/app`,
    ]);
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/unauthorized|authentication required|invalid username/i);
  }, 30_000);
});
