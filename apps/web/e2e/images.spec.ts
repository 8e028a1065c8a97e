import { expect, test } from "@playwright/test";
import { signIn, uniqueName } from "./fixtures";

test("lists the built-in image, inspects it, tags it, removes the tag and prunes", async ({
  page,
}) => {
  await signIn(page, "/images");
  await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
  const busybox = page
    .getByTestId("image-row")
    .filter({ has: page.getByRole("cell", { name: "busybox", exact: true }) })
    .first();
  await expect(busybox).toBeVisible();
  await expect(busybox.getByRole("cell", { name: "latest", exact: true })).toBeVisible();

  // Inspect: a drawer with the references, one layer and the config.
  await busybox.getByRole("button", { name: /^Inspect busybox:latest/ }).click();
  const drawer = page.getByRole("dialog", { name: /busybox:latest on/ });
  await expect(drawer.getByTestId("image-refs")).toContainText("busybox:latest");
  await expect(drawer.getByRole("table", { name: "Layers" }).getByRole("row")).toHaveCount(2);
  await expect(drawer.getByTestId("image-config")).toContainText('"Cmd"');
  await page.keyboard.press("Escape");
  await expect(drawer).toBeHidden();

  // Tag: a bad reference is refused in the form, a good one adds a row.
  const repo = uniqueName("tag");
  await busybox.getByRole("button", { name: /^Tag busybox:latest/ }).click();
  const tagDialog = page.getByRole("dialog", { name: "Tag busybox:latest" });
  await tagDialog.getByLabel("New reference").fill("Not A Ref");
  await expect(tagDialog.getByText("not a valid image reference")).toBeVisible();
  await expect(tagDialog.getByRole("button", { name: "Tag", exact: true })).toBeDisabled();
  await tagDialog.getByLabel("New reference").fill(`${repo}:v1`);
  await tagDialog.getByRole("button", { name: "Tag", exact: true }).click();
  await expect(tagDialog).toBeHidden();
  const tagged = page
    .getByTestId("image-row")
    .filter({ has: page.getByRole("cell", { name: repo, exact: true }) });
  await expect(tagged).toHaveCount(1);

  // Remove the tag: only the reference goes, busybox stays.
  await tagged.getByRole("button", { name: new RegExp(`^Remove ${repo}:v1`) }).click();
  const removeDialog = page.getByRole("dialog", { name: `Remove ${repo}:v1?` });
  await removeDialog.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: `untagged ${repo}:v1` })).toBeVisible();
  await expect(tagged).toHaveCount(0);
  await expect(busybox).toBeVisible();

  // Prune dangling images (nothing is dangling: busybox is kept).
  await page.getByRole("button", { name: "Prune unused" }).click();
  const pruneDialog = page.getByRole("dialog", { name: "Prune unused images?" });
  await pruneDialog.getByRole("button", { name: "Prune", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Images pruned" })).toBeVisible();
  await expect(busybox).toBeVisible();
});
