import { expect, test } from "@playwright/test";
import { E2EApi } from "./api";
import { adminPassword, adminUser, baseURL } from "./env";
import { signIn, uniqueName } from "./fixtures";

test("creates a network, shows a container's address and ports on it, and removes it", async ({
  page,
}) => {
  await signIn(page, "/networks");
  await expect(page.getByRole("heading", { name: "Networks" })).toBeVisible();
  // Every node has the default bridge.
  await expect(
    page.getByTestId("network-row").filter({ has: page.getByRole("cell", { name: /^bridge/ }) }),
  ).toHaveCount(1);
  const name = uniqueName("net");

  await page.getByRole("button", { name: "Create network" }).click();
  const dialog = page.getByRole("dialog", { name: "Create a network" });
  await dialog.getByLabel("Network name").fill(name);
  await dialog.getByLabel("Subnet (optional)").fill("10.231.7.0/33");
  await expect(dialog.getByRole("button", { name: "Create", exact: true })).toBeDisabled();
  await dialog.getByLabel("Subnet (optional)").fill("10.231.7.0/24");
  await dialog.getByRole("button", { name: "Create", exact: true }).click();
  await expect(dialog).toBeHidden();

  const row = page
    .getByTestId("network-row")
    .filter({ has: page.getByText(name, { exact: true }) });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("10.231.7.0/24");

  // A container on it, with a port published on loopback (set up through the API).
  const api = new E2EApi(baseURL);
  await api.login(adminUser, adminPassword);
  const ctr = (await api.mutate("containers.run", {
    name: uniqueName("onnet"),
    spec: {
      image: "busybox",
      command: ["sleep", "300"],
      network: name,
      ports: ["127.0.0.1::80"],
    },
  })) as { id: string };
  try {
    await page.goto(`/containers/${ctr.id}`);
    const card = page.getByRole("region", { name: "Network" });
    await expect(card.getByTestId("network-mode")).toHaveText(name);
    await expect(card.getByTestId("network-ip")).toHaveText(/^10\.231\.7\.\d+\/24$/);
    await expect(card.getByTestId("network-ports")).toHaveText(/^127\.0\.0\.1:\d+->80\/tcp$/);

    // A network with a container on it is not removed.
    await page.goto("/networks");
    await row.getByRole("button", { name: new RegExp(`^Remove network ${name}`) }).click();
    await page
      .getByRole("dialog", { name: `Remove ${name}?` })
      .getByRole("button", { name: "Remove", exact: true })
      .click();
    await expect(
      page.getByRole("alert").filter({ hasText: `Could not remove ${name}` }),
    ).toBeVisible();
    await page.keyboard.press("Escape");
  } finally {
    await api.mutate("containers.remove", { ref: ctr.id, force: true });
  }

  await page.goto("/networks");
  await row.getByRole("button", { name: new RegExp(`^Remove network ${name}`) }).click();
  await page
    .getByRole("dialog", { name: `Remove ${name}?` })
    .getByRole("button", { name: "Remove", exact: true })
    .click();
  await expect(page.getByRole("alert").filter({ hasText: "Network removed" })).toBeVisible();
  await expect(row).toHaveCount(0);
});
