/** users.*: user administration (administrators only). */
import { CreateUserInputSchema, SetDefaultTeamInputSchema, UserInputSchema } from "@berth/core";
import { adminProcedure, router } from "../../trpc";

export const usersRouter = router({
  list: adminProcedure.query(({ ctx }) => ctx.services.users.list()),

  create: adminProcedure
    .meta({ audit: { omit: ["password"] } })
    .input(CreateUserInputSchema)
    .mutation(({ ctx, input }) => {
      ctx.audit.target = input.username;
      return ctx.services.users.create(input);
    }),

  /** Ends the user's sessions; their API tokens stop working until enabled again. */
  disable: adminProcedure.input(UserInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = input.user;
    return ctx.services.users.setDisabled(ctx.user.id, input.user, true);
  }),

  enable: adminProcedure.input(UserInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = input.user;
    return ctx.services.users.setDisabled(ctx.user.id, input.user, false);
  }),

  setDefaultTeam: adminProcedure.input(SetDefaultTeamInputSchema).mutation(({ ctx, input }) => {
    ctx.audit.target = input.user;
    return ctx.services.users.setDefaultTeam(input.user, input.team);
  }),
});
