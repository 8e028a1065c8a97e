/**
 * Who may do what to a repository. Repositories live under a team's namespace
 * (`<team>/<name>`): the caller's role in that team decides through core's `can` (registry.pull,
 * registry.push, registry.delete: viewers pull, operators also push, owners also delete);
 * administrators may do everything. An API token's scopes narrow both. Single-component names belong to no team: administrators
 * only. A public repository may be pulled by anyone, anonymous callers included.
 */
import { can, type Permission } from "@berth/core";
import { eq, teamMembers, teams, users, type Db } from "@berth/db";
import type { AuthUser } from "../modules/auth/auth.service";
import { toAuthUser } from "../modules/auth/auth.service";
import { TeamsService } from "../modules/teams/teams.service";
import { namespaceOf } from "./registry-names";
import { RegistrySettings } from "./registry-settings";
import type { RegistryAction } from "./registry-token";

/** The permission each registry action needs in the repository's team (core's `can`). */
const ACTION_PERMISSION: Record<RegistryAction, Permission> = {
  pull: "registry.pull",
  push: "registry.push",
  delete: "registry.delete",
};
const ALL: readonly RegistryAction[] = ["pull", "push", "delete"];

export class RegistryAccess {
  readonly settings: RegistrySettings;
  private readonly teams: TeamsService;
  constructor(private readonly db: Db) {
    this.settings = new RegistrySettings(db);
    this.teams = new TeamsService(db);
  }

  /** An enabled user by id, or null. */
  user(id: string): AuthUser | null {
    const u = this.db.select().from(users).where(eq(users.id, id)).get();
    return u && !u.disabled ? toAuthUser(u) : null;
  }

  /** The user row (for the token endpoint's credential cache), or null. */
  userRow(id: string) {
    return this.db.select().from(users).where(eq(users.id, id)).get() ?? null;
  }

  /** The team owning a repository's namespace, or null. */
  teamOf(repository: string): { id: string; name: string } | null {
    const ns = namespaceOf(repository);
    if (ns === null) return null;
    return (
      this.db
        .select({ id: teams.id, name: teams.name })
        .from(teams)
        .where(eq(teams.name, ns))
        .get() ?? null
    );
  }

  /**
   * The actions `user` may perform on `repository`. Anyone, anonymous callers included, may
   * pull a public repository.
   */
  actions(user: AuthUser | null, repository: string): RegistryAction[] {
    const own = this.roleActions(user, repository);
    if (!own.includes("pull") && this.settings.isPublic(repository)) return ["pull", ...own];
    return own;
  }

  /**
   * What a node may do on `repository` on behalf of the team `teamId`: pull the team's own
   * repositories and public ones. Nothing else, whatever the node's or anyone's role.
   */
  teamActions(teamId: string, repository: string): RegistryAction[] {
    if (this.teamOf(repository)?.id === teamId || this.settings.isPublic(repository))
      return ["pull"];
    return [];
  }

  private roleActions(user: AuthUser | null, repository: string): RegistryAction[] {
    if (!user) return [];
    const team = this.teamOf(repository);
    // An API token's scopes narrow what its user may do, administrators included.
    const scopes = user.tokenScopes ?? null;
    const inScope = (a: RegistryAction) => !scopes || scopes.includes(ACTION_PERMISSION[a]);
    if (user.isAdmin)
      return (team || namespaceOf(repository) === null ? ALL : (["pull"] as const)).filter(inScope);
    if (!team) return [];
    const subject = {
      isAdmin: false,
      memberships: this.teams.membershipsOf(user.id).memberships,
      tokenScopes: scopes,
    };
    return ALL.filter((a) => can(subject, ACTION_PERMISSION[a], { teamId: team.id }).allowed);
  }

  /** Team names whose repositories the user may pull (null: every repository, for admins). */
  visibleNamespaces(user: AuthUser): Set<string> | null {
    if (user.isAdmin) return null;
    const rows = this.db
      .select({ name: teams.name })
      .from(teamMembers)
      .innerJoin(teams, eq(teams.id, teamMembers.teamId))
      .where(eq(teamMembers.userId, user.id))
      .all();
    return new Set(rows.map((r) => r.name));
  }
}
