import { expect, test } from "@playwright/test";
import { E2EApi } from "./api";
import { baseURL } from "./env";
import { signIn, uniqueName } from "./fixtures";

test("the audit page shows actions and refusals, filters by action, and verifies the chain", async ({
  page,
}) => {
  // A refusal to find: a failed sign-in of an unknown user, through the API.
  const intruder = uniqueName("intruder");
  await expect(new E2EApi(baseURL).login(intruder, "not-the-password")).rejects.toThrow(
    /invalid username or password/,
  );

  await signIn(page, "/audit");
  await expect(page.getByRole("heading", { name: "Audit", level: 1 })).toBeVisible();
  await page.getByLabel("Action", { exact: true }).fill("auth.login");
  const rows = page.getByTestId("audit-row");
  const refused = rows.filter({ hasText: intruder });
  await expect(refused).toHaveCount(1);
  await expect(refused.getByTestId("audit-result")).toHaveText("denied");
  await expect(refused).toContainText("invalid username or password");
  // Our own sign-in is there too, as ok; nothing but logins is listed.
  await expect(
    rows.filter({ has: page.getByTestId("audit-result").getByText("ok", { exact: true }) }).first(),
  ).toBeVisible();
  for (const action of await rows.getByRole("cell").locator("code").allTextContents())
    expect(action).toMatch(/^auth\.login/);

  // Only refusals.
  await page.getByRole("textbox", { name: "Result" }).click();
  await page.getByRole("option", { name: "denied" }).click();
  await expect(rows.filter({ hasText: intruder })).toHaveCount(1);
  await expect(rows.getByTestId("audit-result").getByText("ok", { exact: true })).toHaveCount(0);

  await page.getByRole("button", { name: "Verify chain" }).click();
  const verdict = page.getByTestId("audit-verify");
  await expect(verdict).toContainText("Chain intact");
  await expect(verdict).toContainText(/\d+ records verified/);
});

test("the account page creates a token shown once, and revokes it", async ({ page, request }) => {
  await signIn(page, "/account");
  await expect(page.getByRole("heading", { name: /^Account/, level: 1 })).toBeVisible();
  const name = uniqueName("token");

  await page.getByRole("button", { name: "Create token" }).click();
  const dialog = page.getByRole("dialog", { name: "Create API token" });
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByRole("button", { name: "Create", exact: true }).click();
  const shown = page.getByRole("dialog", { name: "Your new token" });
  await expect(shown.getByText("This is the only time the token is shown")).toBeVisible();
  const token = (await shown.getByTestId("new-token").textContent())!.trim();
  expect(token).toMatch(/^berth_[A-Za-z0-9_-]{40,}$/);
  await shown.getByRole("button", { name: "Done" }).click();
  await expect(shown).toBeHidden();

  const row = page.getByTestId("token-row").filter({ hasText: name });
  await expect(row).toHaveCount(1);
  // The list never shows the secret again.
  await expect(page.getByText(token)).toHaveCount(0);

  // The token authenticates the API…
  const me = async () =>
    (
      (await (
        await request.get(`${baseURL}/api/trpc/auth.me`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { result: { data: { username: string } | null } }
    ).result.data;
  expect(await me()).toMatchObject({ username: "admin" });

  // …until it is revoked.
  await row.getByRole("button", { name: `Revoke token ${name}` }).click();
  await page
    .getByRole("dialog", { name: `Revoke ${name}?` })
    .getByRole("button", { name: "Remove", exact: true })
    .click();
  await expect(page.getByRole("alert").filter({ hasText: "Token revoked" })).toBeVisible();
  await expect(row).toHaveCount(0);
  expect(await me()).toBeNull();
});
