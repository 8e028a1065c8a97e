/**
 * Images belong to teams, end to end on the e2e node: a team's tag of the built-in busybox is
 * its image — its operator sees it, another team's owner sees only the built-in image, and the
 * administrator sees the holding team in the Team column and assigns the image to the second
 * team from the dashboard, which then sees it too.
 */
import { expect, test, type Page } from "@playwright/test";
import { E2EApi } from "./api";
import { adminPassword, adminUser, signIn, signInAs, uniqueName } from "./fixtures";
import { baseURL } from "./env";

const PASSWORD = "e2e-image-pass-1";

const rowOf = (page: Page, repository: string) =>
  page
    .getByTestId("image-row")
    .filter({ has: page.getByRole("cell", { name: repository, exact: true }) });

test("a team's image is its own; the admin sees its team and assigns it to another team", async ({
  page,
  browser,
}) => {
  const red = uniqueName("red");
  const blue = uniqueName("blue");
  const ron = `${red}-ron`;
  const bea = `${blue}-bea`;
  const repo = uniqueName("teamimg");
  const api = new E2EApi(baseURL);
  await api.login(adminUser, adminPassword);
  try {
    await api.mutate("teams.create", { name: red });
    await api.mutate("teams.create", { name: blue });
    await api.mutate("users.create", {
      username: ron,
      password: PASSWORD,
      team: red,
      role: "operator",
    });
    await api.mutate("users.create", {
      username: bea,
      password: PASSWORD,
      team: blue,
      role: "owner",
    });
    // The red team's name for the built-in image: red's image.
    api.team = red;
    await api.mutate("images.tag", { source: "busybox", target: `${repo}:1` });

    const ronPage = await signInAs(browser, ron, PASSWORD, "/images");
    await expect(rowOf(ronPage, repo)).toHaveCount(1);
    await ronPage.context().close();

    const beaPage = await signInAs(browser, bea, PASSWORD, "/images");
    await expect(rowOf(beaPage, "busybox").first()).toBeVisible();
    await expect(rowOf(beaPage, repo)).toHaveCount(0);

    // The administrator sees who holds what, and gives the image to blue as well.
    await signIn(page, "/images");
    const adminRow = rowOf(page, repo);
    await expect(adminRow.getByRole("cell", { name: red, exact: true })).toBeVisible();
    await expect(rowOf(page, "busybox").first().getByText("system", { exact: true })).toBeVisible();
    await adminRow
      .getByRole("button", { name: new RegExp(`^Assign ${repo}:1 on .* to a team`) })
      .click();
    const dialog = page.getByRole("dialog", { name: `Assign ${repo}:1 to a team` });
    await dialog.getByRole("textbox", { name: "Team" }).click();
    await page.getByRole("option", { name: blue, exact: true }).click();
    await dialog.getByRole("button", { name: "Assign", exact: true }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Image assigned" })).toBeVisible();

    await beaPage.reload();
    await expect(rowOf(beaPage, repo)).toHaveCount(1);
    await beaPage.context().close();
  } finally {
    api.team = null;
    await api.mutate("images.remove", { ref: `${repo}:1`, force: true }).catch(() => {});
    for (const u of [ron, bea]) await api.mutate("users.disable", { user: u }).catch(() => {});
    for (const t of [red, blue]) await api.mutate("teams.remove", { team: t }).catch(() => {});
  }
});
