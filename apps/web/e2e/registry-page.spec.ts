/**
 * The Registry page against berth-server's own registry (/v2/): an image is pushed first over
 * the distribution API with the admin's password (the token flow any client uses; a real OCI
 * image whose layer tar(1) made), then the page lists it, the drawer shows its tag, digest,
 * size and pull command, the public switch opens it to anonymous pulls, and the tag is deleted
 * after a confirmation.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expect, test } from "@playwright/test";
import { adminPassword, adminUser, baseURL } from "./env";
import { signIn, uniqueName } from "./fixtures";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

async function registryToken(scope: string, basic: boolean): Promise<string> {
  const auth = Buffer.from(`${adminUser}:${adminPassword}`).toString("base64");
  const res = await fetch(
    `${baseURL}/v2/token?service=berth&scope=${encodeURIComponent(scope)}`,
    basic ? { headers: { authorization: `Basic ${auth}` } } : {},
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** Pushes a one-layer image as `<repo>:<tag>`; returns its manifest digest. */
async function pushImage(repo: string, tag: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "berth-e2e-img-"));
  try {
    writeFileSync(join(dir, "hello.txt"), "hello from the registry page\n");
    writeFileSync(join(dir, "random.bin"), randomBytes(64 * 1024));
    const t = spawnSync("tar", ["-C", dir, "-cf", "-", "hello.txt", "random.bin"]);
    if (t.status !== 0) throw new Error(`tar: ${t.stderr.toString()}`);
    const layer = gzipSync(t.stdout);
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Cmd: ["/bin/sh"] },
        rootfs: { type: "layers", diff_ids: [sha(t.stdout)] },
      }),
    );
    const token = await registryToken(`repository:${repo}:pull,push`, true);
    const auth = { authorization: `Bearer ${token}` };
    for (const blob of [layer, config]) {
      const res = await fetch(`${baseURL}/v2/${repo}/blobs/uploads/?digest=${sha(blob)}`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/octet-stream" },
        body: new Uint8Array(blob),
      });
      expect(res.status).toBe(201);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
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
    const put = await fetch(`${baseURL}/v2/${repo}/manifests/${tag}`, {
      method: "PUT",
      headers: { ...auth, "content-type": OCI_MANIFEST },
      body: new Uint8Array(manifest),
    });
    expect(put.status).toBe(201);
    return sha(manifest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Status of an anonymous pull of the manifest (anonymous token, then GET). */
async function anonymousPull(repo: string, tag: string): Promise<number> {
  const token = await registryToken(`repository:${repo}:pull`, false);
  const res = await fetch(`${baseURL}/v2/${repo}/manifests/${tag}`, {
    headers: { authorization: `Bearer ${token}`, accept: OCI_MANIFEST },
  });
  await res.arrayBuffer();
  return res.status;
}

test("lists a pushed repository, shows its tags and pull command, toggles public, deletes a tag", async ({
  page,
}) => {
  const repo = `default/${uniqueName("reg")}`;
  const digest = await pushImage(repo, "v1");
  const host = new URL(baseURL).host;

  await signIn(page, "/registry");
  await expect(page.getByRole("heading", { name: "Registry" })).toBeVisible();
  await expect(page.getByTestId("registry-usage")).toContainText("Team default");
  const row = page.getByTestId("registry-row").filter({ hasText: repo });
  await expect(row).toHaveCount(1);
  await expect(row.getByRole("cell").nth(2)).toHaveText("1");

  // The drawer: tag, digest, pull command with a copy button. Opened from the keyboard.
  await row.getByRole("button", { name: repo, exact: true }).focus();
  await page.keyboard.press("Enter");
  const drawer = page.getByRole("dialog", { name: repo });
  const tagRow = drawer.getByTestId("registry-tag-row");
  await expect(tagRow).toHaveCount(1);
  await expect(tagRow).toContainText("v1");
  await expect(tagRow).toContainText(digest.slice(0, 19));
  const command = `docker pull ${host}/${repo}:v1`;
  await expect(tagRow.getByText(command, { exact: true })).toBeVisible();
  await expect(tagRow.getByRole("button", { name: `Copy ${command}` })).toBeVisible();

  // Private: an anonymous pull is refused; public: it works.
  expect(await anonymousPull(repo, "v1")).toBe(401);
  await drawer.getByRole("switch", { name: `Public: anyone may pull ${repo}` }).click();
  await expect(page.getByText(`Anyone may pull ${repo}, without signing in`)).toBeVisible();
  expect(await anonymousPull(repo, "v1")).toBe(200);

  // Delete the tag after the confirmation: the drawer shows no tags.
  await tagRow.getByRole("button", { name: `Delete tag ${repo}:v1` }).click();
  await page
    .getByRole("dialog", { name: "Delete tag v1?" })
    .getByRole("button", { name: "Remove", exact: true })
    .click();
  await expect(drawer.getByText("No tags")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(row.getByRole("cell").nth(2)).toHaveText("0");
});
