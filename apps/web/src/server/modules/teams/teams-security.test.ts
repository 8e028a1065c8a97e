/**
 * Security regressions in teams, through the router and a real (in-memory, migrated) database:
 * no role grants an administrator-only permission (node.manage), not even a row written before
 * the check existed; the last owner can be neither removed nor demoted; a mutation is audited in
 * the team its permission was checked in.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { can, newId } from "@berth/core";
import { and, auditEvents, desc, eq, roles, teamMembers } from "@berth/db";
import { createCaller } from "../../root";
import {
  addUser,
  contextFor,
  createFixture,
  trpcErrorOf,
  type Fixture,
} from "../../testing/fixtures";

describe("teams: admin-only permissions and the last owner", () => {
  let f: Fixture;
  let olgaId: string;
  const tokens = new Map<string, string>();
  const as = (user: string) =>
    createCaller(contextFor(f, { authorization: `Bearer ${tokens.get(user)!}` }));

  beforeEach(async () => {
    f = await createFixture();
    tokens.set("admin", f.services.auth.createApiToken(f.adminId, "t").token);
    // The bootstrap admin is the default team's owner; make olga its only owner.
    olgaId = await addUser(f, "olga", { role: "owner" });
    f.db
      .delete(teamMembers)
      .where(and(eq(teamMembers.teamId, f.defaultTeamId), eq(teamMembers.userId, f.adminId)))
      .run();
    tokens.set("olga", f.services.auth.createApiToken(olgaId, "t").token);
  });
  afterEach(async () => {
    await f.close();
  });

  it("a custom role may not list node.manage (team or global)", async () => {
    const err = await trpcErrorOf(
      as("olga").teams.createRole({ name: "nodeadmin", permissions: ["node.manage", "team.read"] }),
    );
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/node\.manage is for administrators only/);
    expect(
      (
        await trpcErrorOf(
          as("admin").teams.createGlobalRole({ name: "nodes", permissions: ["node.manage"] }),
        )
      ).code,
    ).toBe("BAD_REQUEST");
  });

  it("an existing role row granting node.manage gives a member nothing admin-only", async () => {
    const roleId = newId();
    f.db
      .insert(roles)
      .values({ id: roleId, name: "legacy", teamId: f.defaultTeamId, permissions: ["node.manage"] })
      .run();
    f.db
      .update(teamMembers)
      .set({ role: "custom", roleId })
      .where(eq(teamMembers.userId, olgaId))
      .run();
    expect((await trpcErrorOf(as("olga").joinTokens.create({}))).code).toBe("FORBIDDEN");
    const membership = {
      teamId: "t1",
      role: "legacy",
      permissions: ["node.manage" as const],
    };
    expect(
      can({ isAdmin: false, memberships: [membership] }, "node.manage", { teamId: "t1" }),
    ).toEqual({ allowed: false, reason: { kind: "admin_only", permission: "node.manage" } });
    expect(can({ isAdmin: false, memberships: [membership] }, "node.manage")).toMatchObject({
      allowed: false,
    });
  });

  it("a mutation on the input's team is audited in that team, not the acting one", async () => {
    const web = await as("admin").teams.create({ name: "web" });
    await as("admin").teams.addMember({ team: "web", user: "olga", role: "viewer" });
    const row = f.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, "teams.addMember"))
      .orderBy(desc(auditEvents.id))
      .get()!;
    expect(row).toMatchObject({ result: "ok", teamId: web.id });
    expect(web.id).not.toBe(f.defaultTeamId);
  });

  it("the last owner can be neither demoted (setRole, addMember) nor removed", async () => {
    for (const p of [
      as("olga").teams.setRole({ team: "default", user: "olga", role: "viewer" }),
      as("olga").teams.addMember({ team: "default", user: "olga", role: "operator" }),
      as("olga").teams.removeMember({ team: "default", user: "olga" }),
    ]) {
      const err = await trpcErrorOf(p);
      expect(err.message).toMatch(/last owner/);
    }
    // With a second owner, demoting one is fine.
    await addUser(f, "oscar", { role: "owner" });
    expect(
      await as("olga").teams.setRole({ team: "default", user: "olga", role: "viewer" }),
    ).toMatchObject({ username: "olga", role: "viewer" });
  });
});
