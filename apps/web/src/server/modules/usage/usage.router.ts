import { z } from "zod";
import { BudgetInputSchema, UsagePriceInputSchema, UsageReportInputSchema } from "@berth/core";
import { adminProcedure, procedureWith, router } from "../../trpc";

const TeamRefInput = z.object({ team: z.string().min(1).max(128).optional() });

/** Usage reports (usage.read), budgets (budget.manage) and prices (administrators). */
export const usageRouter = router({
  report: procedureWith("usage.read")
    .input(UsageReportInputSchema)
    .query(({ ctx, input }) => ctx.services.usage.report(ctx.actor, input)),
  prices: procedureWith("usage.read").query(({ ctx }) => ctx.services.usage.listPrices()),
  setPrice: adminProcedure
    .input(UsagePriceInputSchema)
    .mutation(({ ctx, input }) => ctx.services.usage.setPrice(input)),
  budgets: procedureWith("usage.read").query(({ ctx }) =>
    ctx.services.usage.listBudgets(ctx.actor),
  ),
  setBudget: procedureWith("budget.manage")
    .input(BudgetInputSchema)
    .mutation(({ ctx, input }) => ctx.services.usage.setBudget(ctx.actor, input)),
  removeBudget: procedureWith("budget.manage")
    .input(TeamRefInput)
    .mutation(({ ctx, input }) => ctx.services.usage.removeBudget(ctx.actor, input.team)),
  notifications: procedureWith("usage.read")
    .input(z.object({ limit: z.number().int().min(1).max(500).default(50) }).optional())
    .query(({ ctx, input }) => ctx.services.usage.notifications(ctx.actor, input?.limit)),
});
