/**
 * User administration (create, list, disable, enable, default team) and the effective-access
 * view: for a user, what they may do in each team, and why.
 */
import {
  can,
  conflict,
  DomainError,
  newId,
  notFound,
  PERMISSIONS,
  type CreateUserInput,
  type EffectiveAccess,
  type Subject,
  type TeamAccess,
  type UserView,
} from "@berth/core";
import { asc, eq, or, sessions, teamMembers, users, type Db } from "@berth/db";
import { hashPassword } from "../auth/auth.service";
import type { TeamsService } from "../teams/teams.service";

export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly teams: TeamsService,
  ) {}

  private row(ref: string) {
    const u = this.db
      .select()
      .from(users)
      .where(or(eq(users.id, ref), eq(users.username, ref)))
      .get();
    if (!u) throw notFound(`no user ${JSON.stringify(ref)}`);
    return u;
  }

  /** Every user with their teams (one query per user for the memberships: an admin listing). */
  list(): UserView[] {
    return this.db
      .select()
      .from(users)
      .orderBy(asc(users.username))
      .all()
      .map((u) => this.view(u));
  }

  private view(u: typeof users.$inferSelect): UserView {
    return {
      id: u.id,
      username: u.username,
      isAdmin: u.isAdmin,
      disabled: u.disabled,
      defaultTeamId: u.defaultTeamId,
      teams: this.teams
        .membershipsOf(u.id)
        .memberships.map((m) => ({ id: m.teamId, name: m.teamName ?? "", role: m.role })),
      createdAt: u.createdAt.toISOString(),
    };
  }

  get(ref: string): UserView {
    return this.view(this.row(ref));
  }

  /** Creates a user, optionally as a member of `team` (viewer unless `role` says otherwise). */
  async create(input: CreateUserInput & { isAdmin: boolean }): Promise<UserView> {
    const taken = this.db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.username, input.username))
      .get();
    if (taken) throw conflict(`user ${input.username} already exists`);
    const team = input.team ? this.teams.get(input.team) : null;
    const role = team ? this.teams.resolveRole(team.id, input.role ?? "viewer") : null;
    if (!team && input.role)
      throw new DomainError("invalid_input", "a role needs a team (--team TEAM --role ROLE)");
    const passwordHash = await hashPassword(input.password);
    const id = newId();
    this.db.transaction((tx) => {
      tx.insert(users)
        .values({
          id,
          username: input.username,
          passwordHash,
          isAdmin: input.isAdmin,
          defaultTeamId: team?.id ?? null,
        })
        .run();
      if (team && role)
        tx.insert(teamMembers)
          .values({ teamId: team.id, userId: id, role: role.role, roleId: role.roleId })
          .run();
    });
    return this.get(id);
  }

  /** Disables a user: their sessions end and their API tokens stop working. */
  setDisabled(callerId: string, ref: string, disabled: boolean): UserView {
    const u = this.row(ref);
    if (disabled && u.id === callerId)
      throw new DomainError("invalid_state", "you cannot disable yourself");
    this.db.transaction((tx) => {
      tx.update(users).set({ disabled }).where(eq(users.id, u.id)).run();
      if (disabled) tx.delete(sessions).where(eq(sessions.userId, u.id)).run();
    });
    return this.get(u.id);
  }

  /** The team a user's requests act in when they name none; they must be a member (or admin). */
  setDefaultTeam(userRef: string, teamRef: string): UserView {
    const u = this.row(userRef);
    const team = this.teams.get(teamRef);
    const { memberships } = this.teams.membershipsOf(u.id);
    if (!u.isAdmin && !memberships.some((m) => m.teamId === team.id))
      throw new DomainError("invalid_state", `${u.username} is not a member of team ${team.name}`);
    this.db.update(users).set({ defaultTeamId: team.id }).where(eq(users.id, u.id)).run();
    return this.get(u.id);
  }

  /**
   * What `ref` may do, team by team, and why (the role that grants it, or administrator).
   * Administrators get every team; others their memberships.
   */
  effectiveAccess(ref: string): EffectiveAccess {
    const u = this.row(ref);
    const { memberships, defaultTeamId } = this.teams.membershipsOf(u.id);
    const subject: Subject = { isAdmin: u.isAdmin, memberships };
    const teamList = u.isAdmin
      ? this.teams.list(null).map((t) => ({ id: t.id, name: t.name }))
      : memberships.map((m) => ({ id: m.teamId, name: m.teamName ?? "" }));
    const effectiveDefault =
      memberships.find((m) => m.teamId === defaultTeamId)?.teamId ?? memberships[0]?.teamId ?? null;
    const out: TeamAccess[] = teamList.map((t) => {
      const m = memberships.find((x) => x.teamId === t.id) ?? null;
      const permissions: TeamAccess["permissions"] = [];
      for (const p of PERMISSIONS) {
        const d = can(subject, p, { teamId: t.id });
        if (d.allowed) permissions.push({ permission: p, via: d.reason.kind });
      }
      return {
        teamId: t.id,
        teamName: t.name,
        role: m?.role ?? null,
        roleId: m?.roleId ?? null,
        isDefault: t.id === effectiveDefault,
        permissions,
      };
    });
    return {
      user: { id: u.id, username: u.username, isAdmin: u.isAdmin, disabled: u.disabled },
      admin: u.isAdmin ? [...PERMISSIONS] : [],
      teams: out,
    };
  }
}
