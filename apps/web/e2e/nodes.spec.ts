import { expect, test } from "@playwright/test";
import { signIn, uniqueName } from "./fixtures";

test("the local node shows online; its page shows facts, capacity, labels and containers", async ({
  page,
}) => {
  await signIn(page, "/nodes");
  const row = page.getByTestId("node-row").first();
  // launch.ts joins the local agent right after the server is healthy.
  await expect(row.getByTestId("node-status")).toHaveText("online", { timeout: 60_000 });
  await expect(row).toContainText(/\d+(\.\d+)? \/ \d+/); // CPU allocation of capacity
  await row.getByRole("link").first().click();
  await expect(page).toHaveURL(/\/nodes\/[a-z2-7]{26}$/);
  const facts = page.getByRole("region", { name: "Facts" });
  await expect(facts).toContainText(/runc|crun/);
  await expect(facts).toContainText(/v[12] \((legacy|hybrid|unified)\)/);
  await expect(page.getByRole("region", { name: "Capacity and allocation" })).toContainText(
    "CPUs:",
  );
  await expect(page.getByRole("region", { name: "Containers" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Live usage" })).toBeVisible();

  // labels: add two, remove one, by keyboard
  await page.getByRole("button", { name: "Edit labels" }).click();
  await page.getByLabel("Changes").fill("zone=e2e tier=test");
  await page.getByLabel("Changes").press("Enter");
  const labels = page.getByRole("region", { name: "Labels" });
  await expect(labels).toContainText("zone=e2e");
  await expect(labels).toContainText("tier=test");
  await page.getByRole("button", { name: "Edit labels" }).click();
  await page.getByLabel("Changes").fill("zone- tier-");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(labels).not.toContainText("zone=e2e");
});

test("cordon and uncordon a node from the list", async ({ page }) => {
  await signIn(page, "/nodes");
  const row = page.getByTestId("node-row").first();
  await expect(row.getByTestId("node-status")).toHaveText("online", { timeout: 60_000 });
  const name = (await row.getByRole("link").first().textContent())!.trim();
  await row.getByRole("button", { name: `Cordon node ${name}` }).click();
  await expect(row).toContainText("cordoned");
  await row.getByRole("button", { name: `Uncordon node ${name}` }).click();
  await expect(row).not.toContainText("cordoned");
});

test("an admin can create a join token, see the agent command, find it listed and revoke it", async ({
  page,
}) => {
  await signIn(page, "/nodes");
  await page.getByRole("button", { name: "Add node" }).click();
  await page.getByRole("button", { name: "Create join token" }).click();
  await expect(page.getByTestId("join-command")).toContainText(/berth-agent .*--join-token \S+/);
  await expect(page.getByRole("dialog")).toContainText("expires in");
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("dialog")).toBeHidden();

  const tokens = page.getByRole("table", { name: "Join tokens" });
  const active = tokens.getByTestId("join-token-row").filter({ hasText: "active" }).first();
  await expect(active).toBeVisible();
  const id = (await active.locator("td").first().textContent())!.trim();
  await active.getByRole("button", { name: `Revoke join token ${id}` }).click();
  await expect(tokens.getByTestId("join-token-row").filter({ hasText: id })).toContainText(
    "revoked",
  );
});

test("an admin puts the node in a pool, grants it to the team, and removes the pool", async ({
  page,
}) => {
  const pool = uniqueName("pool").toLowerCase();
  await signIn(page, "/nodes");
  await page.getByRole("textbox", { name: "New pool" }).fill(pool);
  await page.getByRole("button", { name: "Create pool" }).click();
  const row = page.getByTestId("pool-row").filter({ hasText: pool });
  await expect(row).toContainText("no team");

  // the node's page: into the pool
  await page.getByTestId("node-row").first().getByRole("link").first().click();
  await expect(page).toHaveURL(/\/nodes\/[^/]+$/);
  await page.getByRole("textbox", { name: "Pool", exact: true }).click();
  await page.getByRole("option", { name: pool, exact: true }).click();
  await expect(page.getByRole("region", { name: "Facts" })).toContainText(pool);

  // back on the list: grant it to the default team, then remove the pool (the node is released)
  await page.getByRole("link", { name: "Nodes" }).first().click();
  await expect(page.getByTestId("node-row").first()).toContainText(pool);
  await row.getByRole("textbox", { name: `Team to grant pool ${pool} to` }).click();
  await page.getByRole("option", { name: "default", exact: true }).click();
  await row.getByRole("button", { name: "Grant" }).click();
  await expect(
    row.getByRole("button", { name: `Revoke pool ${pool} from team default` }),
  ).toBeVisible();
  await row.getByRole("button", { name: `Remove pool ${pool}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("pool-row").filter({ hasText: pool })).toHaveCount(0);
  await expect(page.getByTestId("node-row").first()).not.toContainText(pool);
});
