import { z } from "zod";
import { NodeRefSchema, VolumeNameSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

const VolumeRefSchema = z.object({ name: VolumeNameSchema, node: NodeRefSchema.optional() });

export const volumesRouter = router({
  list: procedureWith("volume.read")
    .input(z.object({ node: NodeRefSchema.optional() }).optional())
    .query(({ ctx, input }) => ctx.services.volumes.list(ctx.actor, input?.node)),
  inspect: procedureWith("volume.read")
    .input(VolumeRefSchema)
    .query(({ ctx, input }) => ctx.services.volumes.inspect(ctx.actor, input.name, input.node)),
  create: procedureWith("volume.write")
    .input(VolumeRefSchema)
    .mutation(({ ctx, input }) => ctx.services.volumes.create(ctx.actor, input.name, input.node)),
  remove: procedureWith("volume.write")
    .input(VolumeRefSchema)
    .mutation(({ ctx, input }) => ctx.services.volumes.remove(ctx.actor, input.name, input.node)),
});
