/**
 * Teams and permissions end to end: an administrator creates a team and a viewer in the
 * dashboard; the viewer sees the team's container but its Stop control is disabled, and a
 * forged tRPC call from the viewer's page is refused (403, audited); an operator of the team
 * stops it; a member of another team sees none of it.
 */
import { expect, test } from "@playwright/test";
import { E2EApi } from "./api";
import { adminPassword, adminUser, signIn, signInAs, uniqueName } from "./fixtures";
import { baseURL } from "./env";

const PASSWORD = "e2e-team-pass-1";

test("a viewer sees the team's container but cannot stop it; an operator can; another team sees none", async ({
  page,
  browser,
}) => {
  const team = uniqueName("team");
  const other = uniqueName("other");
  const viewer = `${team}-vic`;
  const operator = `${team}-otto`;
  const outsider = `${other}-olga`;
  const name = uniqueName("teamctr");
  const api = new E2EApi(baseURL);
  await api.login(adminUser, adminPassword);
  let containerId: string | null = null;

  try {
    // The administrator creates the team and a viewer in it, in the dashboard.
    await signIn(page, "/teams");
    await page.getByRole("button", { name: "Create team" }).click();
    const createTeam = page.getByRole("dialog", { name: "Create a team" });
    await createTeam.getByLabel("Name").fill(team);
    await createTeam.getByRole("button", { name: "Create" }).click();
    await expect(createTeam).toBeHidden();
    await expect(page.getByTestId("team-row").filter({ hasText: team })).toHaveCount(1);

    await page.getByRole("tab", { name: "Users" }).click();
    await page.getByRole("button", { name: "Create user" }).click();
    const createUser = page.getByRole("dialog", { name: "Create a user" });
    await createUser.getByLabel("Username").fill(viewer);
    await createUser.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await createUser.getByRole("textbox", { name: "Team" }).click();
    await page.getByRole("option", { name: team, exact: true }).click();
    await expect(createUser.getByRole("textbox", { name: "Role in the team" })).toHaveValue(
      "viewer",
    );
    await createUser.getByRole("button", { name: "Create" }).click();
    await expect(createUser).toBeHidden();
    await expect(page.getByTestId("user-row").filter({ hasText: viewer })).toContainText(
      `${team}: viewer`,
    );

    // The rest of the set-up through the API: an operator, another team and its owner, and a
    // long-running container owned by the team.
    await api.mutate("users.create", {
      username: operator,
      password: PASSWORD,
      team,
      role: "operator",
    });
    await api.mutate("teams.create", { name: other });
    await api.mutate("users.create", {
      username: outsider,
      password: PASSWORD,
      team: other,
      role: "owner",
    });
    api.team = team;
    const ctr = (await api.mutate("containers.run", {
      name,
      spec: { image: "busybox", command: ["sleep", "300"] },
    })) as { id: string };
    containerId = ctr.id;

    // The viewer: sees it running; Stop is disabled; a forged call is refused and audited.
    const vic = await signInAs(browser, viewer, PASSWORD, "/containers");
    await expect(vic.getByRole("textbox", { name: "Team" })).toHaveValue(team);
    const vicRow = vic
      .getByTestId("container-row")
      .filter({ has: vic.getByRole("link", { name }) });
    await expect(vicRow.getByTestId("container-state")).toHaveText("running");
    await expect(vicRow.getByRole("button", { name: `Stop ${name}` })).toBeDisabled();
    await expect(vicRow.getByRole("button", { name: `Remove ${name}` })).toBeDisabled();
    const forged = await vic.evaluate(async (ref) => {
      const csrf = document.cookie
        .split(";")
        .map((c) => c.trim().split("="))
        .find(([k]) => k === "berth_csrf")?.[1];
      const res = await fetch("/api/trpc/containers.stop", {
        method: "POST",
        headers: { "content-type": "application/json", ...(csrf ? { "x-berth-csrf": csrf } : {}) },
        body: JSON.stringify({ ref }),
      });
      return { status: res.status, body: await res.text() };
    }, containerId);
    expect(forged.status).toBe(403);
    expect(forged.body).toContain("does not allow container.update");
    const denied = (await api.query("audit.list", {
      action: "containers.stop",
      user: viewer,
      result: "denied",
    })) as { items: unknown[] };
    expect(denied.items.length).toBeGreaterThan(0);
    expect((await api.containers()).find((c) => c.id === containerId)?.state).toBe("running");
    await vic.context().close();

    // Another team's owner sees none of the team's containers.
    const olga = await signInAs(browser, outsider, PASSWORD, "/containers");
    await expect(olga.getByRole("heading", { name: "Containers" })).toBeVisible();
    await expect(olga.getByText("Loading containers…")).toHaveCount(0);
    await expect(olga.getByRole("link", { name })).toHaveCount(0);
    await olga.context().close();

    // The operator stops it from the list.
    const otto = await signInAs(browser, operator, PASSWORD, "/containers");
    const ottoRow = otto
      .getByTestId("container-row")
      .filter({ has: otto.getByRole("link", { name }) });
    await expect(ottoRow.getByTestId("container-state")).toHaveText("running");
    await ottoRow.getByRole("button", { name: `Stop ${name}` }).click();
    // busybox sleep as PID 1 ignores SIGTERM: the agent kills it after the grace period.
    await expect(ottoRow.getByTestId("container-state")).toHaveText("exited", {
      timeout: 30_000,
    });
    await otto.context().close();
  } finally {
    api.team = team;
    if (containerId)
      await api.mutate("containers.remove", { ref: containerId, force: true }).catch(() => {});
    api.team = null;
    for (const u of [viewer, operator, outsider])
      await api.mutate("users.disable", { user: u }).catch(() => {});
    for (const t of [team, other]) await api.mutate("teams.remove", { team: t }).catch(() => {});
  }
});
