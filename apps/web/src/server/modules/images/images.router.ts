import { z } from "zod";
import { NodeRefSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

export const imagesRouter = router({
  list: procedureWith("images.read")
    .input(z.object({ node: NodeRefSchema.optional() }).optional())
    .query(({ ctx, input }) => ctx.services.images.list(input?.node)),
});
