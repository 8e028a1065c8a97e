import { expect, test } from "@playwright/test";
import { signIn, uniqueName } from "./fixtures";
import { registryInstalled, startRegistry, type E2ERegistry } from "./registry";

let registry: E2ERegistry | undefined;

test.beforeAll(async () => {
  if (!registryInstalled() && process.env.CI !== "true") return;
  registry = await startRegistry();
});
test.afterAll(async () => {
  await registry?.stop();
});

test("pushes an image to a registry with per-layer progress, then pulls it back", async ({
  page,
}) => {
  // Off CI only: in CI beforeAll starts the registry or fails, so `registry` is always set.
  test.skip(registry === undefined, "docker-registry is not installed (scripts/setup.sh --test)");
  const repo = `${registry!.host}/${uniqueName("push")}`;
  await signIn(page, "/images");
  const busybox = page
    .getByTestId("image-row")
    .filter({ has: page.getByRole("cell", { name: "busybox", exact: true }) })
    .first();

  // Push busybox under the registry's name: a progress row per blob, then "Push complete".
  await busybox.getByRole("button", { name: /^Push busybox:latest/ }).click();
  const push = page.getByRole("dialog", { name: "Push busybox:latest" });
  await push.getByLabel("Push to").fill(`${repo}:1`);
  await push.getByRole("button", { name: "Push", exact: true }).click();
  await expect(push.getByTestId("transfer-done")).toContainText(`${repo}:1`, { timeout: 60_000 });
  await expect(push.getByTestId("transfer-progress").getByRole("row")).not.toHaveCount(0);
  await page.keyboard.press("Escape");

  // Pull it back under that name: the row appears.
  await page.getByRole("button", { name: "Pull image" }).click();
  const pull = page.getByRole("dialog", { name: "Pull an image" });
  await pull.getByLabel("Image").fill(`${repo}:1`);
  await pull.getByRole("button", { name: "Pull", exact: true }).click();
  await expect(pull.getByTestId("transfer-done")).toBeVisible({ timeout: 60_000 });
  await page.keyboard.press("Escape");
  const pulled = page
    .getByTestId("image-row")
    .filter({ has: page.getByRole("cell", { name: repo, exact: true }) });
  await expect(pulled).toHaveCount(1);

  // A reference the registry lacks fails with the registry's answer.
  await page.getByRole("button", { name: "Pull image" }).click();
  await pull.getByLabel("Image").fill(`${repo}:missing`);
  await pull.getByRole("button", { name: "Pull", exact: true }).click();
  await expect(pull.getByRole("alert")).toContainText("failed");
  await page.keyboard.press("Escape");

  await pulled
    .getByRole("button", { name: new RegExp(`^Remove ${repo.replace(/[.]/g, "\\.")}:1`) })
    .click();
  await page
    .getByRole("dialog", { name: `Remove ${repo}:1?` })
    .getByRole("button", { name: "Remove", exact: true })
    .click();
  await expect(pulled).toHaveCount(0);
});
