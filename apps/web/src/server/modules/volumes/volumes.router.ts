import { z } from "zod";
import { NodeRefSchema, VolumeNameSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

const VolumeRefSchema = z.object({ name: VolumeNameSchema, node: NodeRefSchema.optional() });

export const volumesRouter = router({
  list: procedureWith("containers.read")
    .input(z.object({ node: NodeRefSchema.optional() }).optional())
    .query(({ ctx, input }) => ctx.services.volumes.list(input?.node)),
  inspect: procedureWith("containers.read")
    .input(VolumeRefSchema)
    .query(({ ctx, input }) => ctx.services.volumes.inspect(input.name, input.node)),
  create: procedureWith("containers.write")
    .input(VolumeRefSchema)
    .mutation(({ ctx, input }) => ctx.services.volumes.create(input.name, input.node)),
  remove: procedureWith("containers.write")
    .input(VolumeRefSchema)
    .mutation(({ ctx, input }) => ctx.services.volumes.remove(input.name, input.node)),
});
