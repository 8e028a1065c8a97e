import { describe, expect, it } from "vitest";
import { ADMIN_ONLY_PERMISSIONS, can, type SubjectMembership } from "./permissions";

describe("can()", () => {
  const everything: SubjectMembership = {
    teamId: "t1",
    role: "custom-all",
    permissions: ["node.manage", "container.read"],
  };

  it("never grants an administrator-only permission through a membership", () => {
    for (const p of ADMIN_ONLY_PERMISSIONS) {
      expect(can({ isAdmin: false, memberships: [everything] }, p, { teamId: "t1" })).toEqual({
        allowed: false,
        reason: { kind: "admin_only", permission: p },
      });
      expect(can({ isAdmin: false, memberships: [everything] }, p).allowed).toBe(false);
      expect(can({ isAdmin: true, memberships: [] }, p).allowed).toBe(true);
    }
    // The role's other permissions still apply.
    expect(
      can({ isAdmin: false, memberships: [everything] }, "container.read", { teamId: "t1" })
        .allowed,
    ).toBe(true);
  });

  it("token scopes bound administrators too", () => {
    expect(
      can({ isAdmin: true, memberships: [], tokenScopes: ["registry.pull"] }, "registry.push"),
    ).toEqual({ allowed: false, reason: { kind: "token_scope", permission: "registry.push" } });
  });
});
