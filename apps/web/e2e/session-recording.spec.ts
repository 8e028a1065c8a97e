/**
 * Session recording (issue 8) against a real server (BERTH_RECORD_SESSIONS=1), agent and
 * Chromium: `echo hi` in the container's terminal, then the recording from the audit trail's
 * "Session recordings" page plays `hi` back.
 */
import { expect, test } from "@playwright/test";
import { E2EApi } from "./api";
import { adminPassword, adminUser, baseURL } from "./env";
import { signIn, uniqueName } from "./fixtures";

test("a terminal session is recorded and replays its output", async ({ page }) => {
  const api = new E2EApi(baseURL);
  await api.login(adminUser, adminPassword);
  const name = uniqueName("rec");
  const ctr = (await api.mutate("containers.run", {
    name,
    spec: { image: "busybox", command: ["sleep", "300"] },
  })) as { id: string };
  try {
    await signIn(page, `/containers/${ctr.id}`);
    await page.getByRole("tab", { name: "Terminal" }).click();
    await page.getByRole("button", { name: "Connect" }).click();
    await expect(page.getByTestId("terminal-status")).toHaveText("connected");
    const term = page.getByTestId("terminal");
    await term.click();
    await page.keyboard.type("echo hi\n");
    await expect
      .poll(async () => (await term.locator(".xterm-rows").innerText()).split("\n"))
      .toContain("hi");
    await page.keyboard.type("exit\n");
    await expect(page.getByTestId("terminal-status")).toHaveText("exited 0");

    // From the audit page to the recordings, then the player.
    await page.goto("/audit");
    await page.getByRole("link", { name: "Session recordings" }).click();
    const row = page.getByTestId("recording-row").filter({ hasText: name });
    await expect(row).toHaveCount(1);
    await row.getByTestId("recording-link").click();
    const player = page.getByTestId("recording-player");
    await expect(player).toBeVisible();
    await player.getByRole("button", { name: "Play" }).click();
    await expect(page.getByTestId("recording-status")).toHaveText("ended");
    await expect
      .poll(async () =>
        (await page.getByTestId("recording-terminal").locator(".xterm-rows").innerText()).split(
          "\n",
        ),
      )
      .toContain("hi");
  } finally {
    await api.mutate("containers.remove", { ref: ctr.id, force: true }).catch(() => undefined);
  }
});
