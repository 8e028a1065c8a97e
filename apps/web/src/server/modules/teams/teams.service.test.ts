/**
 * Teams, members, custom roles, the acting team of a request and effective access, through the
 * router and a real (in-memory, migrated) database.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { can, type Permission } from "@berth/core";
import { apiTokens, auditEvents, desc, eq, sessions, teamMembers, users } from "@berth/db";
import { createCaller } from "../../root";
import {
  addUser,
  contextFor,
  createFixture,
  insertContainer,
  insertNode,
  trpcErrorOf,
  type Fixture,
} from "../../testing/fixtures";

const codeOf = async (p: Promise<unknown>): Promise<string> => (await trpcErrorOf(p)).code;

describe("teams, roles and the acting team", () => {
  let f: Fixture;
  const tokens = new Map<string, string>();
  const as = (user: string, team?: string) =>
    createCaller(
      contextFor(f, {
        authorization: `Bearer ${tokens.get(user)!}`,
        ...(team ? { team } : {}),
      }),
    );
  const admin = () => as("admin");

  beforeEach(async () => {
    f = await createFixture();
    tokens.set("admin", f.services.auth.createApiToken(f.adminId, "t").token);
    for (const [name, role] of [
      ["olga", "owner"],
      ["vic", "viewer"],
    ] as const) {
      const id = await addUser(f, name, { role });
      tokens.set(name, f.services.auth.createApiToken(id, "t").token);
    }
  });
  afterEach(async () => {
    await f.close();
  });

  it("an admin creates a team and a user in it; the user acts there by default", async () => {
    await admin().teams.create({ name: "web" });
    const u = await admin().users.create({
      username: "ann",
      password: "ann-password",
      team: "web",
      role: "operator",
    });
    expect(u.teams).toEqual([{ id: expect.any(String), name: "web", role: "operator" }]);
    tokens.set("ann", f.services.auth.createApiToken(u.id, "t").token);
    const me = await as("ann").auth.me();
    expect(me).toMatchObject({ team: { name: "web" }, role: "operator" });
    expect(me!.permissions).toContain("container.create");
    expect(me!.permissions).not.toContain("team.manage");
    // The password never reaches the audit trail.
    const row = f.db.select().from(auditEvents).orderBy(desc(auditEvents.id)).get()!;
    expect(JSON.stringify(row.params)).not.toContain("ann-password");
  });

  it("x-berth-team picks the team by name or id; a team one is not in is NOT_FOUND", async () => {
    const web = await admin().teams.create({ name: "web" });
    await admin().teams.addMember({ team: "web", user: "vic", role: "owner" });
    expect((await as("vic", "web").auth.me())!.role).toBe("owner");
    expect((await as("vic", web.id).auth.me())!.role).toBe("owner");
    expect((await as("vic").auth.me())!.role).toBe("viewer"); // first membership: default team
    expect(await codeOf(as("olga", "web").containers.list())).toBe("NOT_FOUND");
    expect(await codeOf(as("olga", "nope").containers.list())).toBe("NOT_FOUND");
    // Administrators may act in any team.
    expect((await as("admin", "web").auth.me())!.team).toMatchObject({ name: "web" });
  });

  it("containers are visible only in the team that owns them", async () => {
    const web = await admin().teams.create({ name: "web" });
    await admin().teams.addMember({ team: "web", user: "vic", role: "viewer" });
    const node = insertNode(f, "n1");
    insertContainer(f, node, "in-default");
    insertContainer(f, node, "in-web", { teamId: web.id });
    expect((await as("vic").containers.list({ all: true })).map((c) => c.name)).toEqual([
      "in-default",
    ]);
    expect((await as("vic", "web").containers.list({ all: true })).map((c) => c.name)).toEqual([
      "in-web",
    ]);
    expect(await codeOf(as("vic").containers.get({ ref: "in-web" }))).toBe("NOT_FOUND");
  });

  it("custom roles: known permissions only, usable by the team's members, refused while held", async () => {
    expect(
      await codeOf(
        as("olga").teams.createRole({
          name: "deployer",
          permissions: ["containers.write" as Permission],
        }),
      ),
    ).toBe("BAD_REQUEST");
    expect(
      await codeOf(as("olga").teams.createRole({ name: "viewer", permissions: ["logs.read"] })),
    ).toBe("BAD_REQUEST");
    const role = await as("olga").teams.createRole({
      name: "deployer",
      permissions: ["logs.read", "container.create", "container.read", "logs.read"],
    });
    expect(role.permissions).toEqual(["container.read", "container.create", "logs.read"]);
    await as("olga").teams.addMember({ team: "default", user: "vic", role: "deployer" });
    const me = await as("vic").auth.me();
    expect(me).toMatchObject({ role: "deployer" });
    expect(me!.permissions).toEqual(["container.read", "container.create", "logs.read"]);
    expect(await codeOf(as("olga").teams.removeRole({ role: "deployer" }))).toBe("CONFLICT");
    await as("olga").teams.setRole({ team: "default", user: "vic", role: "viewer" });
    expect(await as("olga").teams.removeRole({ role: "deployer" })).toMatchObject({
      name: "deployer",
    });
    // A viewer may not manage the team; the denial is audited.
    expect(
      await codeOf(as("vic").teams.createRole({ name: "x", permissions: ["logs.read"] })),
    ).toBe("FORBIDDEN");
    const denied = f.db.select().from(auditEvents).orderBy(desc(auditEvents.id)).get()!;
    expect(denied).toMatchObject({ action: "teams.createRole", result: "denied" });
  });

  it("the last owner stays; a team that owns containers is not removed", async () => {
    const web = await admin().teams.create({ name: "web" });
    await admin().teams.addMember({ team: "web", user: "olga", role: "owner" });
    expect(await codeOf(as("olga").teams.removeMember({ team: "web", user: "olga" }))).toBe(
      "PRECONDITION_FAILED",
    );
    insertContainer(f, insertNode(f, "n1"), "c1", { teamId: web.id });
    expect(await codeOf(admin().teams.remove({ team: "web" }))).toBe("CONFLICT");
    await admin().teams.create({ name: "empty" });
    await admin().users.create({ username: "eve", password: "eve-password", team: "empty" });
    expect(await admin().teams.remove({ team: "empty" })).toMatchObject({ name: "empty" });
    const eve = f.db.select().from(users).where(eq(users.username, "eve")).get()!;
    expect(eve.defaultTeamId).toBeNull();
    expect(await codeOf(admin().teams.remove({ team: "default" }))).toBe("PRECONDITION_FAILED");
  });

  it("disabling a user ends their sessions and their tokens stop working", async () => {
    const vic = f.db.select().from(users).where(eq(users.username, "vic")).get()!;
    await f.services.auth.login("vic", "password-123", null);
    expect(f.db.select().from(sessions).where(eq(sessions.userId, vic.id)).all()).toHaveLength(1);
    await admin().users.disable({ user: "vic" });
    expect(f.db.select().from(sessions).where(eq(sessions.userId, vic.id)).all()).toHaveLength(0);
    expect(await codeOf(as("vic").containers.list())).toBe("UNAUTHORIZED");
    expect(f.db.select().from(apiTokens).where(eq(apiTokens.userId, vic.id)).all()).toHaveLength(1);
    await admin().users.enable({ user: "vic" });
    expect(await as("vic").containers.list()).toEqual([]);
    expect(await codeOf(admin().users.disable({ user: "admin" }))).toBe("PRECONDITION_FAILED");
    expect(await codeOf(as("olga").users.list())).toBe("FORBIDDEN");
  });

  it("effective access says, per team, what a user may do and which role grants it", async () => {
    await admin().teams.create({ name: "web" });
    await admin().teams.addMember({ team: "web", user: "vic", role: "billing-viewer" });
    const a = await admin().access.effective({ user: "vic" });
    expect(a.admin).toEqual([]);
    const byTeam = Object.fromEntries(a.teams.map((t) => [t.teamName, t]));
    expect(byTeam.default).toMatchObject({ role: "viewer", isDefault: true });
    expect(byTeam.default!.permissions.map((p) => p.permission)).toContain("logs.read");
    expect(byTeam.default!.permissions.map((p) => p.permission)).not.toContain("container.update");
    expect(byTeam.web).toMatchObject({ role: "billing-viewer", isDefault: false });
    expect(byTeam.web!.permissions).toEqual([
      { permission: "usage.read", via: "role" },
      { permission: "team.read", via: "role" },
    ]);
    const adminAccess = await admin().access.effective({ user: "admin" });
    expect(adminAccess.teams.map((t) => t.teamName).sort()).toEqual(["default", "web"]);
    expect(adminAccess.teams.find((t) => t.teamName === "web")!.permissions[0]!.via).toBe("admin");
    // Only administrators see others' access; everyone sees their own.
    expect(await codeOf(as("vic").access.effective({ user: "olga" }))).toBe("FORBIDDEN");
    expect((await as("vic").access.mine()).user.username).toBe("vic");
  });

  it("can() explains its decisions", () => {
    const m = {
      teamId: "t1",
      teamName: "web",
      role: "viewer",
      permissions: ["logs.read"] as Permission[],
    };
    expect(can({ isAdmin: false, memberships: [m] }, "logs.read", { teamId: "t1" })).toEqual({
      allowed: true,
      reason: { kind: "role", teamId: "t1", teamName: "web", role: "viewer" },
    });
    expect(can({ isAdmin: false, memberships: [m] }, "logs.read", { teamId: "t2" })).toEqual({
      allowed: false,
      reason: { kind: "not_member", teamId: "t2" },
    });
    expect(
      can({ isAdmin: false, memberships: [m] }, "container.exec", { teamId: "t1" }),
    ).toMatchObject({
      allowed: false,
      reason: { kind: "role_lacks", role: "viewer" },
    });
    expect(can({ isAdmin: true, memberships: [] }, "node.manage")).toEqual({
      allowed: true,
      reason: { kind: "admin" },
    });
    expect(
      can({ isAdmin: true, memberships: [], tokenScopes: ["logs.read"] }, "node.manage"),
    ).toMatchObject({ allowed: false, reason: { kind: "token_scope" } });
    expect(
      can(
        { isAdmin: false, memberships: [{ ...m, role: "owner", permissions: [] }] },
        "node.manage",
      ),
    ).toMatchObject({
      allowed: false,
      reason: { kind: "admin_only" },
    });
  });

  it("a denied read is audited once a minute per caller and procedure, a denied write every time", async () => {
    const rows = (action: string) =>
      f.db
        .select()
        .from(auditEvents)
        .all()
        .filter((r) => r.action === action && r.actorName === "vic" && r.result === "denied");
    // users.list is for administrators: a read the viewer is refused
    for (let i = 0; i < 3; i++) expect(await codeOf(as("vic").users.list())).toBe("FORBIDDEN");
    expect(rows("users.list")).toHaveLength(1);
    for (let i = 0; i < 2; i++)
      expect(await codeOf(as("vic").teams.create({ name: `x${i}` }))).toBe("FORBIDDEN");
    expect(rows("teams.create")).toHaveLength(2);
  });

  it("membership rows use the custom role's id", async () => {
    const role = await as("olga").teams.createRole({ name: "ops", permissions: ["logs.read"] });
    await as("olga").teams.addMember({ team: "default", user: "vic", role: role.id! });
    const vic = f.db.select().from(users).where(eq(users.username, "vic")).get()!;
    expect(
      f.db.select().from(teamMembers).where(eq(teamMembers.userId, vic.id)).get(),
    ).toMatchObject({
      role: "custom",
      roleId: role.id,
    });
  });
});
