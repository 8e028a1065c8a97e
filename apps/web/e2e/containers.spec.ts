import { expect, test, type Page } from "@playwright/test";
import { signIn, uniqueName } from "./fixtures";

async function runContainer(page: Page, name: string, command: string): Promise<void> {
  await page.getByRole("button", { name: "Run container" }).click();
  const dialog = page.getByRole("dialog", { name: "Run a container" });
  await expect(dialog.getByLabel("Image")).toHaveValue("busybox");
  await dialog.getByLabel("Command").fill(command);
  await dialog.getByLabel("Name", { exact: true }).fill(name);
  await dialog.getByRole("button", { name: "Run", exact: true }).click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
}

test("runs busybox echo, shows its output and exit code 0", async ({ page }) => {
  const name = uniqueName("echo");
  await signIn(page, "/containers");
  await runContainer(page, name, "echo hello-berth");

  await page.getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await expect(page.getByTestId("log-view")).toContainText("hello-berth");
  await expect(page.getByTestId("log-ended")).toHaveText("container exited with code 0");
  await expect(page.getByTestId("container-state").first()).toHaveText("exited");
  await expect(page.getByTestId("detail-exit-code")).toHaveText("0");

  // Clean up through the UI: removing an exited container needs no confirmation.
  await page.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(page).toHaveURL(/\/containers$/);
  await expect(page.getByRole("link", { name })).toHaveCount(0);
});

test("stops a running container from the list, removes it, and it is gone", async ({ page }) => {
  const name = uniqueName("sleep");
  await signIn(page, "/containers");
  await runContainer(page, name, "sleep 300");

  const row = page.getByTestId("container-row").filter({ has: page.getByRole("link", { name }) });
  await expect(row.getByTestId("container-state")).toHaveText("running");

  await row.getByRole("button", { name: `Stop ${name}` }).click();
  // busybox sleep as PID 1 ignores SIGTERM: the agent kills it after the 10 s grace period.
  await expect(row.getByTestId("container-state")).toHaveText("exited", { timeout: 30_000 });

  await row.getByRole("button", { name: `Remove ${name}` }).click();
  await expect(page.getByRole("link", { name })).toHaveCount(0);
  await expect(page.getByRole("alert").filter({ hasText: "Container removed" })).toBeVisible();
});
