import { expect, type Page } from "@playwright/test";
import { adminPassword, adminUser } from "./env";

export { adminPassword, adminUser };

/** Signs in through the login form and waits for the dashboard. */
export async function signIn(page: Page, next = "/"): Promise<void> {
  await page.goto(next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Username").fill(adminUser);
  await page.getByRole("textbox", { name: "Password" }).fill(adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
}

/** A container name no earlier run of the suite used. */
export function uniqueName(prefix: string): string {
  return `e2e-${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}
