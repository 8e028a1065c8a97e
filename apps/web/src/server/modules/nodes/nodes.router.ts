import { z } from "zod";
import { NodeRefSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

export const nodesRouter = router({
  list: procedureWith("nodes.read").query(({ ctx }) => ctx.services.nodes.list()),
  get: procedureWith("nodes.read")
    .input(z.object({ ref: NodeRefSchema }))
    .query(({ ctx, input }) => ctx.services.nodes.get(input.ref)),
});
