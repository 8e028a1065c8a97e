/** The audit trail: listing (team-scoped for non-administrators) and chain verification. */
import { AuditListInputSchema } from "@berth/core";
import { adminProcedure, procedureWith, router } from "../../trpc";

export const auditRouter = router({
  /** Newest first with filters (user, team, action prefix, target, result, from/to) and a cursor. */
  list: procedureWith("audit.read")
    .input(AuditListInputSchema)
    .query(({ ctx, input }) =>
      ctx.services.audit.list({ isAdmin: ctx.user.isAdmin, teamId: ctx.actor.teamId }, input),
    ),

  /** Walks the whole chain: administrators only (it spans every team). */
  verify: adminProcedure.query(({ ctx }) => ctx.services.audit.verify()),
});
