/**
 * The permission model: one vocabulary of permissions, the built-in team roles, and `can()` —
 * the single decision function every server check goes through. A decision carries its reason
 * (administrator, or which role in which team) so the effective-access view can explain it.
 */
import { z } from "zod";

/** Every permission, in display order. */
export const PERMISSIONS = [
  "container.read",
  "container.create",
  "container.update",
  "container.delete",
  "container.exec",
  "logs.read",
  "stats.read",
  "image.read",
  "image.pull",
  "image.push",
  "image.build",
  "image.delete",
  "volume.read",
  "volume.write",
  "network.read",
  "network.write",
  "node.read",
  "node.drain",
  "node.manage",
  "registry.pull",
  "registry.push",
  "registry.delete",
  "usage.read",
  "budget.manage",
  "team.read",
  "team.manage",
  "audit.read",
] as const;

export const PermissionSchema = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof PermissionSchema>;

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** The built-in team roles. */
export const BUILTIN_ROLES = ["owner", "operator", "viewer", "billing-viewer"] as const;
export const BuiltinRoleSchema = z.enum(BUILTIN_ROLES);
export type BuiltinRole = z.infer<typeof BuiltinRoleSchema>;

export function isBuiltinRole(value: string): value is BuiltinRole {
  return (BUILTIN_ROLES as readonly string[]).includes(value);
}

/**
 * Permissions no team role grants by default: managing nodes (join, remove, labels, pools) is
 * for global administrators.
 */
export const ADMIN_ONLY_PERMISSIONS: readonly Permission[] = ["node.manage"];

const TEAM_PERMISSIONS = PERMISSIONS.filter((p) => !ADMIN_ONLY_PERMISSIONS.includes(p));

/** What each built-in role grants inside its team. */
export const BUILTIN_ROLE_PERMISSIONS: Record<BuiltinRole, readonly Permission[]> = {
  owner: TEAM_PERMISSIONS,
  operator: TEAM_PERMISSIONS.filter(
    (p) => p !== "team.manage" && p !== "registry.delete" && p !== "budget.manage",
  ),
  viewer: PERMISSIONS.filter((p) => p.endsWith(".read") || p === "registry.pull"),
  "billing-viewer": ["team.read", "usage.read"],
};

/** One team membership of a subject, with the permissions its role grants. */
export interface SubjectMembership {
  teamId: string;
  /** Shown in decisions: the team's name when known. */
  teamName?: string | undefined;
  /** A built-in role name, or a custom role's name. */
  role: string;
  /** The custom role's id when `role` is a custom role. */
  roleId?: string | null | undefined;
  permissions: readonly Permission[];
}

/** Who is asking. */
export interface Subject {
  isAdmin: boolean;
  memberships: readonly SubjectMembership[];
  /**
   * An API token's scopes: a subset of what the user may do. null/undefined = everything the
   * user may do.
   */
  tokenScopes?: readonly Permission[] | null | undefined;
}

/** What the action is on: something a team owns, or nothing team-scoped (undefined). */
export type Resource = { teamId: string } | undefined;

export type Decision =
  | {
      allowed: true;
      reason:
        | { kind: "admin" }
        | { kind: "role"; teamId: string; teamName?: string; role: string; roleId?: string };
    }
  | {
      allowed: false;
      reason:
        | { kind: "token_scope"; permission: Permission }
        | { kind: "admin_only"; permission: Permission }
        | { kind: "not_member"; teamId?: string }
        | { kind: "role_lacks"; teamId: string; role: string; permission: Permission };
    };

/**
 * Whether `subject` may do `action` on `resource`. Administrators may do everything (within
 * their token's scopes); administrator-only permissions (node.manage) are never granted through
 * a membership; otherwise the subject needs a membership in the resource's team whose
 * role grants the action. Without a resource (e.g. listing nodes), any membership granting the
 * action suffices.
 */
export function can(subject: Subject, action: Permission, resource?: Resource): Decision {
  if (subject.tokenScopes && !subject.tokenScopes.includes(action))
    return { allowed: false, reason: { kind: "token_scope", permission: action } };
  if (subject.isAdmin) return { allowed: true, reason: { kind: "admin" } };
  // No membership grants an administrator-only permission, whatever a (custom) role lists.
  if (ADMIN_ONLY_PERMISSIONS.includes(action))
    return { allowed: false, reason: { kind: "admin_only", permission: action } };
  const candidates = resource
    ? subject.memberships.filter((m) => m.teamId === resource.teamId)
    : subject.memberships;
  if (candidates.length === 0)
    return {
      allowed: false,
      reason: resource ? { kind: "not_member", teamId: resource.teamId } : { kind: "not_member" },
    };
  const granting = candidates.find((m) => m.permissions.includes(action));
  if (granting) {
    const reason: Extract<Decision, { allowed: true }>["reason"] = {
      kind: "role",
      teamId: granting.teamId,
      role: granting.role,
    };
    if (granting.teamName !== undefined) reason.teamName = granting.teamName;
    if (granting.roleId) reason.roleId = granting.roleId;
    return { allowed: true, reason };
  }
  const first = candidates[0]!;
  return {
    allowed: false,
    reason: { kind: "role_lacks", teamId: first.teamId, role: first.role, permission: action },
  };
}

/** A sentence for a denial, for error messages. */
export function describeDenial(
  decision: Decision & { allowed: false },
  action: Permission,
): string {
  const r = decision.reason;
  switch (r.kind) {
    case "token_scope":
      return `this API token is not scoped for ${action}`;
    case "admin_only":
      return `only administrators may do this (${action})`;
    case "not_member":
      return `you are not a member of this team (${action})`;
    case "role_lacks":
      return `your role (${r.role}) does not allow ${action}`;
  }
}

/** Custom role names: lowercase, not a built-in name. */
export const RoleNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,47}$/, "role names are lowercase letters, digits and dashes")
  .refine((n) => !isBuiltinRole(n), "that is a built-in role name");

/** A custom role's permissions: known names, at least one, no duplicates. */
export const RolePermissionsSchema = z
  .array(PermissionSchema)
  .min(1, "a role needs at least one permission")
  .transform((ps) =>
    [...new Set(ps)].sort((a, b) => PERMISSIONS.indexOf(a) - PERMISSIONS.indexOf(b)),
  );

/** The permissions a built-in role grants (for a known built-in name). */
export function permissionsOfBuiltinRole(role: BuiltinRole): readonly Permission[] {
  return BUILTIN_ROLE_PERMISSIONS[role];
}
