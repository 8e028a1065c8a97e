/** The CLI's calls for teams, members, roles, users and access: teams.*, users.*, access.* (answers validated). */
import {
  EffectiveAccessSchema,
  MemberViewSchema,
  RoleViewSchema,
  TeamViewSchema,
  UserViewSchema,
  type CreateRoleInput,
  type CreateUserInput,
  type EffectiveAccess,
  type MemberView,
  type Permission,
  type RoleView,
  type TeamView,
  type UserView,
} from "@berth/core";
import type { TRPCClient } from "@trpc/client";
import type { AppRouter } from "@berth/web/router";
import { z } from "zod";
import { parseAnswer } from "./parse-answer";

const Removed = z.object({ id: z.string(), name: z.string() });
const RemovedMember = z.object({ userId: z.string(), username: z.string() });

export class TeamsApi {
  constructor(private readonly client: TRPCClient<AppRouter>) {}

  async list(): Promise<TeamView[]> {
    return parseAnswer(TeamViewSchema.array(), await this.client.teams.list.query(), "teams.list");
  }
  async create(name: string): Promise<TeamView> {
    return parseAnswer(
      TeamViewSchema,
      await this.client.teams.create.mutate({ name }),
      "teams.create",
    );
  }
  async remove(team: string): Promise<{ id: string; name: string }> {
    return parseAnswer(Removed, await this.client.teams.remove.mutate({ team }), "teams.remove");
  }
  async members(team: string): Promise<MemberView[]> {
    const v = await this.client.teams.members.query({ team });
    return parseAnswer(MemberViewSchema.array(), v, "teams.members");
  }
  async addMember(team: string, user: string, role: string): Promise<MemberView> {
    const v = await this.client.teams.addMember.mutate({ team, user, role });
    return parseAnswer(MemberViewSchema, v, "teams.addMember");
  }
  async removeMember(team: string, user: string): Promise<{ userId: string; username: string }> {
    const v = await this.client.teams.removeMember.mutate({ team, user });
    return parseAnswer(RemovedMember, v, "teams.removeMember");
  }
  async roles(team?: string): Promise<RoleView[]> {
    const v = await this.client.teams.roles.query(team ? { team } : {});
    return parseAnswer(RoleViewSchema.array(), v, "teams.roles");
  }
  async createRole(input: CreateRoleInput & { global?: boolean }): Promise<RoleView> {
    const permissions = input.permissions as Permission[];
    const v = input.global
      ? await this.client.teams.createGlobalRole.mutate({ name: input.name, permissions })
      : await this.client.teams.createRole.mutate({
          name: input.name,
          permissions,
          ...(input.team ? { team: input.team } : {}),
        });
    return parseAnswer(RoleViewSchema, v, "teams.createRole");
  }
  async removeRole(role: string, opts: { team?: string; global?: boolean }) {
    const v = opts.global
      ? await this.client.teams.removeGlobalRole.mutate({ role })
      : await this.client.teams.removeRole.mutate({
          role,
          ...(opts.team ? { team: opts.team } : {}),
        });
    return parseAnswer(Removed, v, "teams.removeRole");
  }
  async users(): Promise<UserView[]> {
    return parseAnswer(UserViewSchema.array(), await this.client.users.list.query(), "users.list");
  }
  async createUser(input: CreateUserInput): Promise<UserView> {
    const v = await this.client.users.create.mutate(input);
    return parseAnswer(UserViewSchema, v, "users.create");
  }
  async setUserDisabled(user: string, disabled: boolean): Promise<UserView> {
    const v = disabled
      ? await this.client.users.disable.mutate({ user })
      : await this.client.users.enable.mutate({ user });
    return parseAnswer(UserViewSchema, v, disabled ? "users.disable" : "users.enable");
  }
  async access(user?: string): Promise<EffectiveAccess> {
    const v = user
      ? await this.client.access.effective.query({ user })
      : await this.client.access.mine.query();
    return parseAnswer(EffectiveAccessSchema, v, user ? "access.effective" : "access.mine");
  }
}
