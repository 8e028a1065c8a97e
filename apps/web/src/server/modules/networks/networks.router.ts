import { z } from "zod";
import {
  ContainerRefSchema,
  Ipv4AddressSchema,
  NetworkCreateOptionsSchema,
  NodeRefSchema,
} from "@berth/core";
import { procedureWith, router } from "../../trpc";

const NetworkRef = z.string().trim().min(1).max(128);
const RefInput = z.object({ ref: NetworkRef, node: NodeRefSchema.optional() });
const read = procedureWith("network.read");
const write = procedureWith("network.write");

export const networksRouter = router({
  list: read
    .input(z.object({ node: NodeRefSchema.optional() }).optional())
    .query(({ ctx, input }) => ctx.services.networks.list(ctx.actor, input?.node)),
  inspect: read
    .input(RefInput)
    .query(({ ctx, input }) => ctx.services.networks.inspect(ctx.actor, input.ref, input.node)),
  create: write
    .input(NetworkCreateOptionsSchema.extend({ node: NodeRefSchema.optional() }))
    .mutation(({ ctx, input }) => {
      const { node, ...opts } = input;
      return ctx.services.networks.create(ctx.actor, opts, node);
    }),
  remove: write
    .input(RefInput)
    .mutation(({ ctx, input }) => ctx.services.networks.remove(ctx.actor, input.ref, input.node)),
  connect: write
    .input(
      z.object({
        ref: NetworkRef,
        container: ContainerRefSchema,
        aliases: z.array(z.string().min(1).max(253)).max(32).optional(),
        ip: Ipv4AddressSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.services.networks.connect(ctx.actor, input.ref, input.container, {
        ...(input.aliases ? { aliases: input.aliases } : {}),
        ...(input.ip ? { ip: input.ip } : {}),
      }),
    ),
  /** Live addresses and published ports of one container (`ref`) or of all the team's. */
  containers: read
    .input(z.object({ ref: ContainerRefSchema.optional() }).optional())
    .query(({ ctx, input }) => ctx.services.networks.containerNetworks(ctx.actor, input?.ref)),
  disconnect: write
    .input(z.object({ ref: NetworkRef, container: ContainerRefSchema }))
    .mutation(({ ctx, input }) =>
      ctx.services.networks.disconnect(ctx.actor, input.ref, input.container),
    ),
});
