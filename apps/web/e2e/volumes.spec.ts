import { expect, test } from "@playwright/test";
import { signIn, uniqueName } from "./fixtures";

test("creates a volume, lists it, refuses a bad name, and removes it", async ({ page }) => {
  await signIn(page, "/volumes");
  await expect(page.getByRole("heading", { name: "Volumes" })).toBeVisible();
  const name = uniqueName("vol");

  await page.getByRole("button", { name: "Create volume" }).click();
  const dialog = page.getByRole("dialog", { name: "Create a volume" });
  await dialog.getByLabel("Volume name").fill("-bad");
  await expect(dialog.getByText("not a valid volume name")).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Create", exact: true })).toBeDisabled();
  await dialog.getByLabel("Volume name").fill(name);
  await dialog.getByRole("button", { name: "Create", exact: true }).click();
  await expect(dialog).toBeHidden();

  const row = page
    .getByTestId("volume-row")
    .filter({ has: page.getByRole("cell", { name, exact: true }) });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(`/volumes/${name}/_data`);

  await row.getByRole("button", { name: new RegExp(`^Remove volume ${name}`) }).click();
  await page
    .getByRole("dialog", { name: `Remove ${name}?` })
    .getByRole("button", { name: "Remove", exact: true })
    .click();
  await expect(page.getByRole("alert").filter({ hasText: "Volume removed" })).toBeVisible();
  await expect(row).toHaveCount(0);
});
