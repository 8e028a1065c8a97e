import { expect, test } from "@playwright/test";
import { signIn } from "./fixtures";

test("the local node shows online with its facts", async ({ page }) => {
  await signIn(page, "/nodes");
  const row = page.getByTestId("node-row").first();
  // launch.ts joins the local agent right after the server is healthy.
  await expect(row.getByTestId("node-status")).toHaveText("online", { timeout: 60_000 });
  await expect(row).toContainText(/runc|crun/);
  await expect(row).toContainText(/v[12] \((legacy|hybrid|unified)\)/);
});

test("an admin can create a join token and see the agent command", async ({ page }) => {
  await signIn(page, "/nodes");
  await page.getByRole("button", { name: "Add node" }).click();
  await page.getByRole("button", { name: "Create join token" }).click();
  await expect(page.getByTestId("join-command")).toContainText(/berth-agent .*--join-token \S+/);
  await expect(page.getByRole("dialog")).toContainText("expires in");
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("dialog")).toBeHidden();
});
