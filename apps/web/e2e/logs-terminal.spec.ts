/**
 * The container page's Logs, Terminal and Stats tabs against a real server, agent and Chromium:
 * live follow, server-side search with the stream filter, the download (its file checked), a
 * terminal session (`echo hi` → `hi`), the stats charts drawing data, and the permissions: a
 * viewer reads logs but gets no terminal.
 */
import { readFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { E2EApi } from "./api";
import { adminPassword, adminUser, baseURL } from "./env";
import { signIn, uniqueName } from "./fixtures";

/** A running container writing `tick N` to stdout and `warn N` to stderr five times a second. */
async function chatty(api: E2EApi): Promise<{ id: string; name: string }> {
  const name = uniqueName("chatty");
  const ctr = (await api.mutate("containers.run", {
    name,
    spec: {
      image: "busybox",
      command: [
        "sh",
        "-c",
        'i=0; while true; do i=$((i+1)); echo "tick $i"; echo "warn $i" >&2; sleep 0.2; done',
      ],
    },
  })) as { id: string };
  return { id: ctr.id, name };
}

async function removeQuietly(api: E2EApi, id: string) {
  await api.mutate("containers.remove", { ref: id, force: true }).catch(() => undefined);
}

async function adminApi(): Promise<E2EApi> {
  const api = new E2EApi(baseURL);
  await api.login(adminUser, adminPassword);
  return api;
}

const logLines = (page: Page) => page.getByTestId("log-line");

test("logs: follow, search on the node, stream filter and download", async ({ page }) => {
  const api = await adminApi();
  const ctr = await chatty(api);
  try {
    await signIn(page, `/containers/${ctr.id}`);
    await expect(page.getByRole("heading", { name: ctr.name })).toBeVisible();
    const view = page.getByTestId("log-view");
    // Follow: new lines keep arriving at the bottom.
    await expect(view).toContainText("tick 3");
    await expect(view).toContainText("tick 8");

    // Search "warn 1" on stderr only: every line shown matches.
    await page.getByTestId("log-search").fill("WARN 1");
    await page.locator('label[for$="-stderr"]').click();
    await page.getByTestId("log-apply").click();
    await expect(view).toContainText("warn 1");
    await expect(view).toContainText("warn 12");
    const texts = await logLines(page).allInnerTexts();
    expect(texts.length).toBeGreaterThan(0);
    for (const t of texts) expect(t).toMatch(/warn 1\d*$/);

    // The download carries the same query: only matching stderr lines.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("log-download").click(),
    ]);
    const path = await download.path();
    const body = readFileSync(path, "utf8");
    const lines = body.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^warn 1\d*$/);

    // The whole log, with times: both streams.
    const whole = await page.request.get(`/api/containers/${ctr.id}/logs/download?timestamps=1`);
    expect(whole.status()).toBe(200);
    expect(whole.headers()["content-type"]).toContain("text/plain");
    const all = await whole.text();
    expect(all).toMatch(/^\S+ tick 1$/m);
    expect(all).toMatch(/ warn 1$/m);
  } finally {
    await removeQuietly(api, ctr.id);
  }
});

test("terminal: echo hi in sh answers hi; stats charts draw points", async ({ page }) => {
  const api = await adminApi();
  const ctr = await chatty(api);
  try {
    await signIn(page, `/containers/${ctr.id}`);
    await page.getByRole("tab", { name: "Terminal" }).click();
    await page.getByRole("button", { name: "Connect" }).click();
    await expect(page.getByTestId("terminal-status")).toHaveText("connected");
    const term = page.getByTestId("terminal");
    await term.click();
    await page.keyboard.type("echo hi\n");
    await expect
      .poll(async () => (await term.locator(".xterm-rows").innerText()).split("\n"), {
        timeout: 15_000,
      })
      .toContain("hi");
    // Exiting the shell ends the session.
    await page.keyboard.type("exit 3\n");
    await expect(page.getByTestId("terminal-status")).toHaveText("exited 3");

    await page.getByRole("tab", { name: "Stats" }).click();
    const cpu = page.getByTestId("chart-cpu");
    // The agent samples every 5 s: two points make a line.
    await expect(cpu.locator("path.recharts-line-curve")).toHaveAttribute("d", /L/, {
      timeout: 30_000,
    });
    await expect(page.getByTestId("chart-memory").locator("svg").first()).toBeVisible();
    await expect(page.getByTestId("chart-pids")).toContainText(/Processes\s*\d+/);

    // The node's last hour, on its page.
    const nodes = (await api.query("nodes.list")) as { id: string }[];
    await page.goto(`/nodes/${nodes[0]!.id}`);
    const history = page.getByRole("region", { name: "Node history" });
    await expect(
      history.getByTestId("chart-cpu").locator("path.recharts-line-curve"),
    ).toHaveAttribute("d", /L/, { timeout: 30_000 });
  } finally {
    await removeQuietly(api, ctr.id);
  }
});

test("a viewer reads logs but gets no terminal", async ({ browser }) => {
  const api = await adminApi();
  const me = (await api.query("auth.me")) as { team: { name: string } | null };
  const username = uniqueName("viewer").replace(/-/g, "_").slice(0, 40);
  const password = "viewer-pass-e2e-1";
  await api.mutate("users.create", {
    username,
    password,
    ...(me.team ? { team: me.team.name } : {}),
    role: "viewer",
  });
  const ctr = await chatty(api);
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`/login?next=${encodeURIComponent(`/containers/${ctr.id}`)}`);
    await page.getByLabel("Username").fill(username);
    await page.getByRole("textbox", { name: "Password" }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("log-view")).toContainText("tick 2");
    await page.getByRole("tab", { name: "Terminal" }).click();
    await expect(page.getByTestId("terminal-disabled")).toContainText("container.exec");
    await expect(page.getByRole("button", { name: "Connect" })).toBeDisabled();
  } finally {
    await context.close();
    await removeQuietly(api, ctr.id);
  }
});

test("a 1,000,000-line log: the last line arrives, the buffer stays bounded, drops are shown", async ({
  page,
}) => {
  const api = await adminApi();
  const name = uniqueName("million");
  const ctr = (await api.mutate("containers.run", {
    name,
    spec: { image: "busybox", command: ["seq", "1", "1000000"] },
  })) as { id: string };
  try {
    await signIn(page, `/containers/${ctr.id}`);
    const view = page.getByTestId("log-view");
    await expect(view).toContainText("1000000", { timeout: 90_000 });
    // Only the newest ≤ 100k lines are kept, and only the visible rows are in the DOM.
    const count = Number((await page.getByTestId("log-count").innerText()).replace(/\D/g, ""));
    expect(count).toBeGreaterThan(80_000);
    expect(count).toBeLessThanOrEqual(100_000);
    expect(await page.getByTestId("log-line").count()).toBeLessThan(200);
    // The page still answers: the timestamps switch works at once.
    await page.getByLabel("Timestamps").check({ force: true });
    await expect(page.getByTestId("log-line").last()).toContainText(
      /\d\d:\d\d:\d\d\.\d{3} 1000000/,
    );
    await view.evaluate((el) => (el.scrollTop = 0));
    await expect(page.getByTestId("log-dropped")).toContainText("older lines dropped");
  } finally {
    await removeQuietly(api, ctr.id);
  }
});
