import { z } from "zod";
import {
  ImagePullInputSchema,
  ImagePushInputSchema,
  ImageRefOrIdSchema,
  ImageRefSchema,
  NodeRefSchema,
  TeamRefSchema,
} from "@berth/core";
import { adminProcedure, procedureWith, router } from "../../trpc";

const OnNode = { node: NodeRefSchema.optional() };

export const imagesRouter = router({
  list: procedureWith("image.read")
    .input(z.object(OnNode).optional())
    .query(({ ctx, input }) => ctx.services.images.list(ctx.actor, input?.node)),
  inspect: procedureWith("image.read")
    .input(z.object({ ref: ImageRefOrIdSchema, ...OnNode }))
    .query(({ ctx, input }) => ctx.services.images.inspect(ctx.actor, input.ref, input.node)),
  tag: procedureWith("image.build")
    .input(z.object({ source: ImageRefOrIdSchema, target: ImageRefSchema, ...OnNode }))
    .mutation(({ ctx, input }) =>
      ctx.services.images.tag(ctx.actor, input.source, input.target, input.node),
    ),
  remove: procedureWith("image.delete")
    .input(z.object({ ref: ImageRefOrIdSchema, force: z.boolean().default(false), ...OnNode }))
    .mutation(({ ctx, input }) =>
      ctx.services.images.remove(ctx.actor, input.ref, input.force, input.node),
    ),
  prune: procedureWith("image.delete")
    .input(z.object({ all: z.boolean().default(false), ...OnNode }))
    .mutation(({ ctx, input }) => ctx.services.images.prune(ctx.actor, input.all, input.node)),
  /**
   * Administrators: `team` holds the image (by reference: that name; by id: its names no team
   * holds) on the node, e.g. one made before images belonged to teams, or outside Berth.
   */
  assign: adminProcedure
    .input(z.object({ ref: ImageRefOrIdSchema, team: TeamRefSchema, ...OnNode }))
    .mutation(({ ctx, input }) =>
      ctx.services.images.assign(input.team, ctx.user, input.ref, input.node),
    ),
  /** Progress chunks, then `{digest, ref, nodeName}`; the team's registry credential attached. */
  pull: procedureWith("image.pull")
    .input(ImagePullInputSchema)
    .subscription(async function* ({ ctx, input, signal }) {
      yield* ctx.services.images.transfer(
        ctx.actor,
        { kind: "pull", input },
        ctx.services.audit,
        ctx.address,
        signal,
      );
    }),
  push: procedureWith("image.push")
    .input(ImagePushInputSchema)
    .subscription(async function* ({ ctx, input, signal }) {
      yield* ctx.services.images.transfer(
        ctx.actor,
        { kind: "push", input },
        ctx.services.audit,
        ctx.address,
        signal,
      );
    }),
});
