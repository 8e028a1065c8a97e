import { CreatePoolInputSchema, PoolGrantInputSchema, PoolRefInputSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

const manage = procedureWith("node.manage");

export const poolsRouter = router({
  list: procedureWith("node.read").query(({ ctx }) => ctx.services.pools.list()),
  create: manage
    .input(CreatePoolInputSchema)
    .mutation(({ ctx, input }) => ctx.services.pools.create(input.name)),
  remove: manage
    .input(PoolRefInputSchema)
    .mutation(({ ctx, input }) => ctx.services.pools.remove(input.ref)),
  grant: manage
    .input(PoolGrantInputSchema)
    .mutation(({ ctx, input }) => ctx.services.pools.grant(input.ref, input.team)),
  revoke: manage
    .input(PoolGrantInputSchema)
    .mutation(({ ctx, input }) => ctx.services.pools.revoke(input.ref, input.team)),
});
