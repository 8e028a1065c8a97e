import { FleetJoinTokenInputSchema, JoinTokenRefInputSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

const manage = procedureWith("node.manage");

export const joinTokensRouter = router({
  create: manage.input(FleetJoinTokenInputSchema).mutation(({ ctx, input }) => {
    const out = ctx.services.joinTokens.create(ctx.user.id, input);
    ctx.audit.target = out.id;
    return out;
  }),
  list: manage.query(({ ctx }) => ctx.services.joinTokens.list()),
  revoke: manage
    .input(JoinTokenRefInputSchema)
    .mutation(({ ctx, input }) => ctx.services.joinTokens.revoke(input.id)),
});
