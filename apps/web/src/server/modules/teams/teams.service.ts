/**
 * Teams, memberships and custom roles, and the access model's data side: the memberships a
 * caller holds (one query per request) and the team a request acts in.
 */
import {
  ADMIN_ONLY_PERMISSIONS,
  BUILTIN_ROLE_PERMISSIONS,
  BUILTIN_ROLES,
  conflict,
  DomainError,
  isBuiltinRole,
  isPermission,
  newId,
  notFound,
  PERMISSIONS,
  type BuiltinRole,
  type CreateRoleInput,
  type MemberView,
  type Permission,
  type RoleView,
  type SubjectMembership,
  type TeamView,
} from "@berth/core";
import {
  and,
  asc,
  containers,
  eq,
  isNull,
  or,
  roles,
  sql,
  teamMembers,
  teams,
  users,
  type Db,
  type RoleRow,
} from "@berth/db";
import { DEFAULT_TEAM } from "../../bootstrap";

export interface TeamRef {
  id: string;
  name: string;
}

/** What a request knows about its caller's teams. */
export interface CallerTeams {
  memberships: SubjectMembership[];
  /** The team the request acts in. */
  team: TeamRef;
  /** Set when the requested team does not exist or the caller is not a member of it. */
  error: DomainError | null;
}

function knownPermissions(list: readonly string[]): Permission[] {
  return list.filter(isPermission);
}

function roleView(r: RoleRow, teamName: string | null): RoleView {
  return {
    id: r.id,
    name: r.name,
    builtin: false,
    teamId: r.teamId,
    teamName,
    permissions: knownPermissions(r.permissions),
  };
}

export class TeamsService {
  /** Prepared once: it runs for every signed-in request. */
  private readonly membershipsQuery;

  constructor(private readonly db: Db) {
    this.membershipsQuery = db
      .select({
        defaultTeamId: users.defaultTeamId,
        teamId: teamMembers.teamId,
        teamName: teams.name,
        role: teamMembers.role,
        roleId: teamMembers.roleId,
        roleName: roles.name,
        rolePermissions: roles.permissions,
      })
      .from(users)
      .leftJoin(teamMembers, eq(teamMembers.userId, users.id))
      .leftJoin(teams, eq(teams.id, teamMembers.teamId))
      .leftJoin(roles, eq(roles.id, teamMembers.roleId))
      .where(eq(users.id, sql.placeholder("userId")))
      .orderBy(asc(teamMembers.createdAt), asc(teams.name))
      .prepare();
  }

  /**
   * The caller's memberships (with team names and custom role permissions) and their default
   * team, in one query.
   */
  membershipsOf(userId: string): {
    memberships: SubjectMembership[];
    defaultTeamId: string | null;
  } {
    const rows = this.membershipsQuery.all({ userId });
    const memberships: SubjectMembership[] = [];
    for (const r of rows) {
      if (!r.teamId || !r.role) continue;
      const custom = r.role === "custom";
      memberships.push({
        teamId: r.teamId,
        teamName: r.teamName ?? undefined,
        role: custom ? (r.roleName ?? "custom") : r.role,
        roleId: custom ? r.roleId : null,
        permissions: custom
          ? knownPermissions(r.rolePermissions ?? [])
          : BUILTIN_ROLE_PERMISSIONS[r.role as BuiltinRole],
      });
    }
    return { memberships, defaultTeamId: rows[0]?.defaultTeamId ?? null };
  }

  /**
   * The team a request acts in: the requested one (id or name; `x-berth-team`, the CLI's
   * `--team`, the dashboard's switcher), else the user's default team, else their first
   * membership, else the server's default team. A team the caller is not a member of is
   * reported as unknown (administrators may act in any team).
   */
  callerTeams(
    user: { id: string; isAdmin: boolean },
    requested: string | null,
    serverDefaultTeamId: string,
  ): CallerTeams {
    const { memberships, defaultTeamId } = this.membershipsOf(user.id);
    const toRef = (m: SubjectMembership): TeamRef => ({ id: m.teamId, name: m.teamName ?? "" });
    const fallback = (): TeamRef => {
      const preferred =
        memberships.find((m) => m.teamId === defaultTeamId) ?? memberships[0] ?? null;
      if (preferred) return toRef(preferred);
      const id = (user.isAdmin ? defaultTeamId : null) ?? serverDefaultTeamId;
      const row = this.db.select().from(teams).where(eq(teams.id, id)).get();
      return row ? { id: row.id, name: row.name } : { id, name: "" };
    };
    if (requested) {
      const mine = memberships.find((m) => m.teamId === requested || m.teamName === requested);
      if (mine) return { memberships, team: toRef(mine), error: null };
      if (user.isAdmin) {
        const row = this.find(requested);
        if (row) return { memberships, team: row, error: null };
      }
      return {
        memberships,
        team: fallback(),
        error: notFound(`no team ${JSON.stringify(requested)} (or you are not a member of it)`),
      };
    }
    return { memberships, team: fallback(), error: null };
  }

  /** A team by id or name, or null. */
  find(ref: string): TeamRef | null {
    return (
      this.db
        .select({ id: teams.id, name: teams.name })
        .from(teams)
        .where(or(eq(teams.id, ref), eq(teams.name, ref)))
        .get() ?? null
    );
  }

  get(ref: string): TeamRef {
    const t = this.find(ref);
    if (!t) throw notFound(`no team ${JSON.stringify(ref)}`);
    return t;
  }

  /** Teams with their member counts: every team (`teamIds` null) or the listed ones. */
  list(teamIds: readonly string[] | null): TeamView[] {
    const rows = this.db
      .select({
        id: teams.id,
        name: teams.name,
        createdAt: teams.createdAt,
        members: sql<number>`(select count(*) from ${teamMembers} where ${teamMembers.teamId} = ${teams.id})`,
      })
      .from(teams)
      .orderBy(asc(teams.name))
      .all();
    return rows
      .filter((r) => teamIds === null || teamIds.includes(r.id))
      .map((r) => ({
        id: r.id,
        name: r.name,
        members: Number(r.members),
        createdAt: r.createdAt.toISOString(),
      }));
  }

  create(name: string): TeamView {
    if (this.find(name)) throw conflict(`team ${name} already exists`);
    const id = newId();
    const row = this.db.insert(teams).values({ id, name }).returning().get();
    return { id: row.id, name: row.name, members: 0, createdAt: row.createdAt.toISOString() };
  }

  /**
   * Removes a team with its memberships, roles and registry settings. Refused while it owns
   * containers (remove them first) and for the server's default team.
   */
  remove(ref: string): { id: string; name: string } {
    const team = this.get(ref);
    if (team.name === DEFAULT_TEAM)
      throw new DomainError("invalid_state", `team ${team.name} is the server's default team`);
    const owned = this.db
      .select({ n: sql<number>`count(*)` })
      .from(containers)
      .where(eq(containers.teamId, team.id))
      .get();
    if (Number(owned?.n ?? 0) > 0)
      throw conflict(
        `team ${team.name} still owns ${owned!.n} container(s); remove them first (berth --team ${team.name} rm -f …)`,
      );
    this.db.transaction((tx) => {
      tx.update(users).set({ defaultTeamId: null }).where(eq(users.defaultTeamId, team.id)).run();
      tx.delete(teamMembers).where(eq(teamMembers.teamId, team.id)).run();
      tx.delete(roles).where(eq(roles.teamId, team.id)).run();
      tx.delete(teams).where(eq(teams.id, team.id)).run();
    });
    return team;
  }

  /** A user by id or username. */
  user(ref: string): { id: string; username: string; disabled: boolean } {
    const u = this.db
      .select({ id: users.id, username: users.username, disabled: users.disabled })
      .from(users)
      .where(or(eq(users.id, ref), eq(users.username, ref)))
      .get();
    if (!u) throw notFound(`no user ${JSON.stringify(ref)}`);
    return u;
  }

  members(teamId: string): MemberView[] {
    return this.db
      .select({
        userId: teamMembers.userId,
        username: users.username,
        role: teamMembers.role,
        roleId: teamMembers.roleId,
        roleName: roles.name,
        disabled: users.disabled,
        createdAt: teamMembers.createdAt,
      })
      .from(teamMembers)
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .leftJoin(roles, eq(roles.id, teamMembers.roleId))
      .where(eq(teamMembers.teamId, teamId))
      .orderBy(asc(users.username))
      .all()
      .map((m) => ({
        userId: m.userId,
        username: m.username,
        role: m.role === "custom" ? (m.roleName ?? "custom") : m.role,
        roleId: m.role === "custom" ? m.roleId : null,
        disabled: m.disabled,
        createdAt: m.createdAt.toISOString(),
      }));
  }

  /** A role usable in `teamId`: a built-in name, or a custom role (by name or id) of the team or global. */
  resolveRole(
    teamId: string,
    ref: string,
  ): { role: BuiltinRole | "custom"; roleId: string | null } {
    if (isBuiltinRole(ref)) return { role: ref, roleId: null };
    const row = this.db
      .select()
      .from(roles)
      .where(
        and(
          or(eq(roles.id, ref), eq(roles.name, ref)),
          or(eq(roles.teamId, teamId), isNull(roles.teamId)),
        ),
      )
      .orderBy(sql`${roles.teamId} is null`)
      .get();
    if (!row)
      throw notFound(
        `no role ${JSON.stringify(ref)} in this team; built-in roles: ${BUILTIN_ROLES.join(", ")} (see berth role ls)`,
      );
    return { role: "custom", roleId: row.id };
  }

  /** Adds a member, or changes the role of an existing one. */
  setMember(teamId: string, userRef: string, roleRef: string): MemberView {
    const u = this.user(userRef);
    const { role, roleId } = this.resolveRole(teamId, roleRef);
    if (role !== "owner" && this.membership(teamId, u.id)?.role === "owner")
      this.assertNotLastOwner(teamId, u.username);
    this.db
      .insert(teamMembers)
      .values({ teamId, userId: u.id, role, roleId })
      .onConflictDoUpdate({
        target: [teamMembers.teamId, teamMembers.userId],
        set: { role, roleId },
      })
      .run();
    return this.members(teamId).find((m) => m.userId === u.id)!;
  }

  /** Changes the role of an existing member. */
  setRole(teamId: string, userRef: string, roleRef: string): MemberView {
    const u = this.user(userRef);
    if (!this.membership(teamId, u.id))
      throw notFound(`${u.username} is not a member of this team (add them with team add-member)`);
    return this.setMember(teamId, u.id, roleRef);
  }

  removeMember(teamId: string, userRef: string): { userId: string; username: string } {
    const u = this.user(userRef);
    const m = this.membership(teamId, u.id);
    if (!m) throw notFound(`${u.username} is not a member of this team`);
    if (m.role === "owner") this.assertNotLastOwner(teamId, u.username);
    this.db
      .delete(teamMembers)
      .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, u.id)))
      .run();
    this.db
      .update(users)
      .set({ defaultTeamId: null })
      .where(and(eq(users.id, u.id), eq(users.defaultTeamId, teamId)))
      .run();
    return { userId: u.id, username: u.username };
  }

  /** Refuses to remove or demote the team's last owner (`username` is one of its owners). */
  private assertNotLastOwner(teamId: string, username: string): void {
    const owners = this.db
      .select({ n: sql<number>`count(*)` })
      .from(teamMembers)
      .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.role, "owner")))
      .get();
    if (Number(owners?.n ?? 0) <= 1)
      throw new DomainError(
        "invalid_state",
        `${username} is the team's last owner; make someone else owner first`,
      );
  }

  private membership(teamId: string, userId: string) {
    return this.db
      .select()
      .from(teamMembers)
      .where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, userId)))
      .get();
  }

  /** Built-in roles, global custom roles, and (with `teamId`) the team's own. */
  listRoles(teamId: string | null): RoleView[] {
    const builtins: RoleView[] = BUILTIN_ROLES.map((name) => ({
      id: null,
      name,
      builtin: true,
      teamId: null,
      teamName: null,
      permissions: [...BUILTIN_ROLE_PERMISSIONS[name]],
    }));
    const custom = this.db
      .select({ role: roles, teamName: teams.name })
      .from(roles)
      .leftJoin(teams, eq(teams.id, roles.teamId))
      .where(teamId ? or(isNull(roles.teamId), eq(roles.teamId, teamId)) : isNull(roles.teamId))
      .orderBy(asc(roles.name))
      .all()
      .map((r) => roleView(r.role, r.teamName));
    return [...builtins, ...custom];
  }

  /** Creates a custom role: global (`teamId` null) or the team's own. */
  createRole(
    teamId: string | null,
    input: Pick<CreateRoleInput, "name" | "permissions">,
  ): RoleView {
    const permissions = [...new Set(input.permissions)].sort(
      (a, b) => PERMISSIONS.indexOf(a) - PERMISSIONS.indexOf(b),
    );
    const unknown = permissions.filter((p) => !isPermission(p));
    if (unknown.length > 0)
      throw new DomainError("invalid_input", `unknown permission(s): ${unknown.join(", ")}`);
    const adminOnly = permissions.filter((p) => ADMIN_ONLY_PERMISSIONS.includes(p));
    if (adminOnly.length > 0)
      throw new DomainError(
        "invalid_input",
        `${adminOnly.join(", ")} is for administrators only and cannot be granted by a role; remove it from the role's permissions`,
      );
    const clash = this.db
      .select({ id: roles.id })
      .from(roles)
      .where(
        and(
          eq(roles.name, input.name),
          teamId ? or(eq(roles.teamId, teamId), isNull(roles.teamId)) : sql`1 = 1`,
        ),
      )
      .get();
    if (clash) throw conflict(`a role named ${input.name} already exists`);
    const row = this.db
      .insert(roles)
      .values({ id: newId(), name: input.name, teamId, permissions })
      .returning()
      .get();
    const teamName = teamId
      ? (this.db.select({ name: teams.name }).from(teams).where(eq(teams.id, teamId)).get()?.name ??
        null)
      : null;
    return roleView(row, teamName);
  }

  /** Removes a custom role of `teamId` (null: a global one); refused while members hold it. */
  removeRole(teamId: string | null, ref: string): { id: string; name: string } {
    const row = this.db
      .select()
      .from(roles)
      .where(
        and(
          or(eq(roles.id, ref), eq(roles.name, ref)),
          teamId ? eq(roles.teamId, teamId) : isNull(roles.teamId),
        ),
      )
      .get();
    if (!row) throw notFound(`no custom role ${JSON.stringify(ref)} here (see berth role ls)`);
    const holders = this.db
      .select({ username: users.username })
      .from(teamMembers)
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .where(eq(teamMembers.roleId, row.id))
      .all();
    if (holders.length > 0)
      throw conflict(
        `role ${row.name} is held by ${holders.map((h) => h.username).join(", ")}; give them another role first`,
      );
    this.db.delete(roles).where(eq(roles.id, row.id)).run();
    return { id: row.id, name: row.name };
  }
}
