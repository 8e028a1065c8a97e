/**
 * teams.*: teams (administrators create and remove them), members and custom roles (team.manage
 * in the team the input names, or the acting team), and team listing for the switcher.
 */
import {
  CreateRoleInputSchema,
  CreateTeamInputSchema,
  ListRolesInputSchema,
  MemberInputSchema,
  RoleInputSchema,
  SetMemberInputSchema,
  TeamInputSchema,
  TeamRefSchema,
} from "@berth/core";
import { z } from "zod";
import { adminProcedure, authedProcedure, procedureWith, router } from "../../trpc";

const manage = procedureWith("team.manage", { team: "input" });
const read = procedureWith("team.read", { team: "input" });

export const teamsRouter = router({
  /** The caller's teams (every team for administrators), for the team switcher. */
  list: authedProcedure.query(({ ctx }) =>
    ctx.services.teams.list(ctx.user.isAdmin ? null : ctx.access.memberships.map((m) => m.teamId)),
  ),

  create: adminProcedure.input(CreateTeamInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = input.name;
    return ctx.services.teams.create(input.name);
  }),

  remove: adminProcedure.input(TeamInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = input.team;
    return ctx.services.teams.remove(input.team);
  }),

  /** Members of the input's team (default: the acting team). */
  members: read
    .input(z.object({ team: TeamRefSchema.optional() }).default({}))
    .query(({ ctx }) => ctx.services.teams.members(ctx.team.id)),

  /** Adds a member with a role, or changes the role of an existing one. */
  addMember: manage.input(SetMemberInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = `${ctx.team.name}/${input.user}`;
    return ctx.services.teams.setMember(ctx.team.id, input.user, input.role);
  }),

  setRole: manage.input(SetMemberInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = `${ctx.team.name}/${input.user}`;
    return ctx.services.teams.setRole(ctx.team.id, input.user, input.role);
  }),

  removeMember: manage.input(MemberInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = `${ctx.team.name}/${input.user}`;
    return ctx.services.teams.removeMember(ctx.team.id, input.user);
  }),

  /** Built-in roles, global custom roles and the input's (or acting) team's own. */
  roles: read
    .input(ListRolesInputSchema)
    .query(({ ctx }) => ctx.services.teams.listRoles(ctx.team.id)),

  /** A custom role of the input's team (default: the acting team). */
  createRole: manage.input(CreateRoleInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = `${ctx.team.name}/${input.name}`;
    return ctx.services.teams.createRole(ctx.team.id, input);
  }),

  removeRole: manage.input(RoleInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = `${ctx.team.name}/${input.role}`;
    return ctx.services.teams.removeRole(ctx.team.id, input.role);
  }),

  /** A global custom role, usable by every team: administrators only. */
  createGlobalRole: adminProcedure
    .input(CreateRoleInputSchema.omit({ team: true }))
    .mutation(({ ctx, input }) => {
      ctx.audit.target = input.name;
      return ctx.services.teams.createRole(null, input);
    }),

  removeGlobalRole: adminProcedure
    .input(RoleInputSchema.omit({ team: true }))
    .mutation(({ ctx, input }) => {
      ctx.audit.target = input.role;
      return ctx.services.teams.removeRole(null, input.role);
    }),
});
