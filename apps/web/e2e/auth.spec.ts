import { expect, test } from "@playwright/test";
import { adminPassword, adminUser, signIn } from "./fixtures";

test("a logged-out visit redirects to the login page", async ({ page }) => {
  await page.goto("/containers");
  await expect(page).toHaveURL(/\/login\?next=%2Fcontainers$/);
  await expect(page.getByRole("heading", { name: "Sign in to Berth" })).toBeVisible();
});

test("a wrong password shows an error and keeps the user on the login page", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Username").fill(adminUser);
  await page.getByRole("textbox", { name: "Password" }).fill(`${adminPassword}-wrong`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("login-error")).toHaveText("Invalid username or password");
  await expect(page.getByTestId("login-error")).toHaveAttribute("role", "alert");
  await expect(page).toHaveURL(/\/login$/);
});

test("signing in lands on the overview, returns to the page asked for, and signing out ends the session", async ({
  page,
}) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  await page.getByRole("button", { name: `User menu for ${adminUser}` }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  // The cookie is gone: the dashboard sends us back to sign in, then to where we wanted to go.
  await page.goto("/nodes");
  await expect(page).toHaveURL(/\/login\?next=%2Fnodes$/);
  await page.getByLabel("Username").fill(adminUser);
  await page.getByRole("textbox", { name: "Password" }).fill(adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/nodes$/);
  await expect(page.getByRole("heading", { name: "Nodes" })).toBeVisible();
});
