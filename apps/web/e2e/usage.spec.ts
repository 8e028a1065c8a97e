import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { usageReportToCsv, UsageReportSchema } from "@berth/core";
import { E2EApi } from "./api";
import { adminPassword, adminUser, signIn, uniqueName } from "./fixtures";
import { baseURL } from "./env";

test("the usage page shows a container's usage in a chart and a table, and its CSV is the API's", async ({
  page,
}) => {
  const api = new E2EApi(baseURL);
  await api.login(adminUser, adminPassword);
  // A short CPU burner (the e2e agent samples every second; its exit takes a final sample).
  // Not `timeout` as PID 1 (sh would exec it as its last command): its TERM would be ignored.
  const name = uniqueName("burn");
  const ctr = (await api.mutate("containers.run", {
    name,
    spec: {
      image: "busybox",
      command: ["sh", "-c", "timeout 2 sh -c 'while :; do :; done'; echo burned"],
    },
  })) as { id: string };
  try {
    // Wait for the exit, then for its final sample to be in the report (two equal readings).
    await expect
      .poll(async () => (await api.containers()).find((c) => c.id === ctr.id)?.state, {
        timeout: 30_000,
      })
      .toBe("exited");
    let last = -1;
    await expect
      .poll(
        async () => {
          const r = UsageReportSchema.parse(
            await api.query("usage.report", { from: Date.now() - 3_600_000, to: Date.now() }),
          );
          const cpu = r.rows.find((x) => x.key === ctr.id)?.cpuCoreSeconds ?? 0;
          const stable = cpu > 0.2 && cpu === last;
          last = cpu;
          return stable;
        },
        { timeout: 30_000, intervals: [1500] },
      )
      .toBe(true);

    await signIn(page, "/usage");
    await expect(page.getByRole("heading", { name: "Usage" })).toBeVisible();
    const row = page.getByTestId("usage-row").filter({ hasText: name });
    await expect(row).toHaveCount(1);
    await expect(
      page.getByTestId("usage-chart").locator(".recharts-surface").first(),
    ).toBeVisible();

    // By keyboard: open the Step select, move from "total" to "hour", pick it.
    await page.getByRole("textbox", { name: "Step" }).focus();
    await page.keyboard.press("ArrowDown");
    await expect(page.getByRole("option", { name: "hour" })).toBeVisible();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await expect(page.getByRole("columnheader", { name: /Period/ })).toBeVisible();

    const range = page.getByTestId("usage-range");
    const from = Number(await range.getAttribute("data-from"));
    const to = Number(await range.getAttribute("data-to"));
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download CSV" }).click(),
    ]);
    const csv = readFileSync((await download.path())!, "utf8");
    const fromApi = UsageReportSchema.parse(
      await api.query("usage.report", { from, to, by: "container", step: "hour", memory: "used" }),
    );
    expect(csv).toBe(usageReportToCsv(fromApi));
    expect(csv).toContain(`,${ctr.id},${name},`);

    // A price makes a cost; a budget shows its card (dialogs, by keyboard where it matters).
    await page.getByRole("button", { name: "Prices" }).click();
    const prices = page.getByRole("dialog", { name: "Unit prices" });
    await prices.getByLabel("Price per unit (0 removes it)").fill("0.5");
    await prices.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Price saved" })).toBeVisible();
    await prices.getByRole("button", { name: "Close" }).click();
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect(page.getByTestId("total-cost")).not.toHaveText("0");

    await page.getByRole("button", { name: "Set budget" }).click();
    const budget = page.getByRole("dialog", { name: "Monthly budget of your team" });
    await budget.getByLabel("Amount per month (UTC)").fill("1000");
    await budget.getByLabel("Webhook URL (optional)").fill("not a url");
    await expect(budget.getByRole("button", { name: "Save" })).toBeDisabled();
    await budget.getByLabel("Webhook URL (optional)").fill("");
    await budget.getByLabel("Webhook URL (optional)").press("Enter");
    await expect(budget).toBeHidden();
    await expect(page.getByTestId("budget-card")).toContainText("of 1000.00 this month");
  } finally {
    await api.mutate("containers.remove", { ref: ctr.id, force: true }).catch(() => undefined);
    await api
      .mutate("usage.setPrice", { unit: "cpu_core_second", price: 0 })
      .catch(() => undefined);
    await api.mutate("usage.removeBudget", {}).catch(() => undefined);
  }
});
