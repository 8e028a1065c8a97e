import { expect, type Browser, type Page } from "@playwright/test";
import { adminPassword, adminUser } from "./env";

export { adminPassword, adminUser };

/** Signs in through the login form (as the administrator by default) and waits for the dashboard. */
export async function signIn(
  page: Page,
  next = "/",
  who: { username: string; password: string } = { username: adminUser, password: adminPassword },
): Promise<void> {
  await page.goto(next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Username").fill(who.username);
  await page.getByRole("textbox", { name: "Password" }).fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
}

/** Signs `username` in, in a browser context of its own (their own cookies), at `next`. */
export async function signInAs(
  browser: Browser,
  username: string,
  password: string,
  next: string,
): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, next, { username, password });
  return page;
}

/** A container name no earlier run of the suite used. */
export function uniqueName(prefix: string): string {
  return `e2e-${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}
