import {
  NodeDrainInputSchema,
  NodeRefInputSchema,
  NodeRemoveInputSchema,
  NodeSetLabelsInputSchema,
  NodeSetPoolInputSchema,
  NodeStatsHistoryInputSchema,
} from "@berth/core";
import { procedureWith, router } from "../../trpc";

const read = procedureWith("node.read");
const drain = procedureWith("node.drain");
const manage = procedureWith("node.manage");

export const nodesRouter = router({
  list: read.query(({ ctx }) => ctx.services.nodes.list()),
  get: read
    .input(NodeRefInputSchema)
    .query(({ ctx, input }) =>
      ctx.services.nodes.get(input.ref, { isAdmin: ctx.user.isAdmin, teamId: ctx.actor.teamId }),
    ),
  /** The node's last hour of cpu, memory, network, IO and tasks (the agent keeps it). */
  statsHistory: procedureWith("stats.read")
    .input(NodeStatsHistoryInputSchema)
    .query(({ ctx, input }) => ctx.services.statsHistory.node(input.ref, input.afterMs)),
  setLabels: manage
    .input(NodeSetLabelsInputSchema)
    .mutation(({ ctx, input }) => ctx.services.nodes.setLabels(input.ref, input.set, input.remove)),
  setPool: manage
    .input(NodeSetPoolInputSchema)
    .mutation(({ ctx, input }) => ctx.services.nodes.setPool(input.ref, input.pool)),
  cordon: drain
    .input(NodeRefInputSchema)
    .mutation(({ ctx, input }) => ctx.services.nodes.setCordoned(input.ref, true)),
  uncordon: drain
    .input(NodeRefInputSchema)
    .mutation(({ ctx, input }) => ctx.services.nodes.setCordoned(input.ref, false)),
  drain: drain
    .input(NodeDrainInputSchema)
    .mutation(({ ctx, input }) => ctx.services.nodes.drain(input.ref, input.timeoutSeconds)),
  remove: manage
    .input(NodeRemoveInputSchema)
    .mutation(({ ctx, input }) => ctx.services.nodes.remove(input.ref, input.force)),
  rotateCredential: manage
    .input(NodeRefInputSchema)
    .mutation(({ ctx, input }) => ctx.services.nodes.rotateCredential(input.ref)),
});
