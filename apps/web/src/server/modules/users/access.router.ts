/** access.*: effective access — what a user may do in each team, and which role grants it. */
import { UserInputSchema } from "@berth/core";
import { adminProcedure, authedProcedure, router } from "../../trpc";

export const accessRouter = router({
  /** Any user's effective access: administrators only. */
  effective: adminProcedure
    .input(UserInputSchema)
    .query(({ ctx, input }) => ctx.services.users.effectiveAccess(input.user)),

  /** The caller's own effective access. */
  mine: authedProcedure.query(({ ctx }) => ctx.services.users.effectiveAccess(ctx.user.id)),
});
