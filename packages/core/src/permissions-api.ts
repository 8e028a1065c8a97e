/**
 * Inputs and views of the teams, users, roles and access API (server modules/teams and
 * modules/users, the CLI's team/user/role commands, the Teams and Access pages).
 */
import { z } from "zod";
import { UsernameSchema } from "./api";
import { PermissionSchema, RoleNameSchema, RolePermissionsSchema } from "./permissions";

/**
 * Team names double as the namespace of the team's registry repositories (`<team>/<repo>`), so
 * they follow the registry's path-component grammar.
 */
export const TeamNameSchema = z
  .string()
  .min(1, "a team name is required")
  .max(64)
  .regex(
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    "team names are lowercase letters and digits, separated by . _ or -",
  );

/** A team by id or name. */
export const TeamRefSchema = z.string().min(1).max(128);
/** A user by id or username. */
export const UserRefSchema = z.string().min(1).max(128);
/** A role: a built-in name, or a custom role's name or id. */
export const RoleRefSchema = z.string().min(1).max(128);

export const CreateTeamInputSchema = z.object({ name: TeamNameSchema });
export const TeamInputSchema = z.object({ team: TeamRefSchema });

export const MemberInputSchema = z.object({ team: TeamRefSchema, user: UserRefSchema });
export const SetMemberInputSchema = MemberInputSchema.extend({ role: RoleRefSchema });
export type SetMemberInput = z.infer<typeof SetMemberInputSchema>;

export const CreateRoleInputSchema = z.object({
  name: RoleNameSchema,
  /** The team that may use the role; omitted: a global role (administrators only). */
  team: TeamRefSchema.optional(),
  permissions: RolePermissionsSchema,
});
export type CreateRoleInput = z.input<typeof CreateRoleInputSchema>;
export const RoleInputSchema = z.object({ role: RoleRefSchema, team: TeamRefSchema.optional() });
export const ListRolesInputSchema = z.object({ team: TeamRefSchema.optional() }).default({});

export const PasswordSchema = z.string().min(8, "passwords have at least 8 characters").max(1024);

export const CreateUserInputSchema = z.object({
  username: UsernameSchema,
  password: PasswordSchema,
  isAdmin: z.boolean().default(false),
  /** A team to add the user to (and make their default team). */
  team: TeamRefSchema.optional(),
  /** Their role in `team`; viewer by default. */
  role: RoleRefSchema.optional(),
});
export type CreateUserInput = z.input<typeof CreateUserInputSchema>;
export const UserInputSchema = z.object({ user: UserRefSchema });
export const SetDefaultTeamInputSchema = z.object({ user: UserRefSchema, team: TeamRefSchema });

export const TeamViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  members: z.number(),
  createdAt: z.string(),
});
export type TeamView = z.infer<typeof TeamViewSchema>;

export const MemberViewSchema = z.object({
  userId: z.string(),
  username: z.string(),
  role: z.string(),
  roleId: z.string().nullable(),
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type MemberView = z.infer<typeof MemberViewSchema>;

export const RoleViewSchema = z.object({
  /** null for built-in roles. */
  id: z.string().nullable(),
  name: z.string(),
  builtin: z.boolean(),
  /** null: global (or built-in). */
  teamId: z.string().nullable(),
  teamName: z.string().nullable(),
  permissions: z.array(PermissionSchema),
});
export type RoleView = z.infer<typeof RoleViewSchema>;

export const UserViewSchema = z.object({
  id: z.string(),
  username: z.string(),
  isAdmin: z.boolean(),
  disabled: z.boolean(),
  defaultTeamId: z.string().nullable(),
  teams: z.array(z.object({ id: z.string(), name: z.string(), role: z.string() })),
  createdAt: z.string(),
});
export type UserView = z.infer<typeof UserViewSchema>;

/** One line of the effective-access view: what a user may do in one team, and why. */
export const TeamAccessSchema = z.object({
  teamId: z.string(),
  teamName: z.string(),
  /** The membership's role; null when the user is not a member (administrators). */
  role: z.string().nullable(),
  roleId: z.string().nullable(),
  isDefault: z.boolean(),
  permissions: z.array(z.object({ permission: PermissionSchema, via: z.enum(["admin", "role"]) })),
});
export type TeamAccess = z.infer<typeof TeamAccessSchema>;

export const EffectiveAccessSchema = z.object({
  user: z.object({
    id: z.string(),
    username: z.string(),
    isAdmin: z.boolean(),
    disabled: z.boolean(),
  }),
  /** Permissions granted everywhere by being an administrator (empty for others). */
  admin: z.array(PermissionSchema),
  teams: z.array(TeamAccessSchema),
});
export type EffectiveAccess = z.infer<typeof EffectiveAccessSchema>;

export const PermissionListSchema = z.array(PermissionSchema);
