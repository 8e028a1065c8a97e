import { CreateJoinTokenInputSchema } from "@berth/core";
import { adminProcedure, router } from "../../trpc";

export const joinTokensRouter = router({
  create: adminProcedure.input(CreateJoinTokenInputSchema).mutation(({ ctx, input }) => {
    const out = ctx.services.joinTokens.create(ctx.user.id, input.ttlSeconds);
    ctx.audit.target = out.id;
    return out;
  }),
  list: adminProcedure.query(({ ctx }) => ctx.services.joinTokens.list()),
});
