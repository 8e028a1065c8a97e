/** The CLI's calls for usage accounting: usage.* (answers validated). */
import {
  UsageReportSchema,
  type BudgetInput,
  type UsagePriceInput,
  type UsageReport,
  type UsageReportInput,
} from "@berth/core";
import type { TRPCClient } from "@trpc/client";
import type { AppRouter } from "@berth/web/router";
import { z } from "zod";
import { parseAnswer } from "./parse-answer";

export const PriceViewSchema = z.object({
  unit: z.string(),
  price: z.number(),
  pool: z.string().nullable(),
  poolName: z.string().nullable(),
});
export type PriceView = z.infer<typeof PriceViewSchema>;

export const BudgetViewSchema = z.object({
  teamId: z.string(),
  team: z.string(),
  monthlyAmount: z.number(),
  thresholds: z.array(z.number()),
  webhookUrl: z.string().nullable(),
  spent: z.number(),
  percent: z.number(),
});
export type BudgetView = z.infer<typeof BudgetViewSchema>;

export class UsageApi {
  constructor(private readonly client: TRPCClient<AppRouter>) {}

  async report(input: UsageReportInput): Promise<UsageReport> {
    return parseAnswer(
      UsageReportSchema,
      await this.client.usage.report.query(input),
      "usage.report",
    );
  }
  async prices(): Promise<PriceView[]> {
    return parseAnswer(
      PriceViewSchema.array(),
      await this.client.usage.prices.query(),
      "usage.prices",
    );
  }
  async setPrice(input: UsagePriceInput): Promise<PriceView[]> {
    const v = await this.client.usage.setPrice.mutate(input);
    return parseAnswer(PriceViewSchema.array(), v, "usage.setPrice");
  }
  async budgets(): Promise<BudgetView[]> {
    return parseAnswer(
      BudgetViewSchema.array(),
      await this.client.usage.budgets.query(),
      "usage.budgets",
    );
  }
  async setBudget(input: BudgetInput): Promise<BudgetView> {
    return parseAnswer(
      BudgetViewSchema,
      await this.client.usage.setBudget.mutate(input),
      "usage.setBudget",
    );
  }
  async removeBudget(team: string | undefined): Promise<void> {
    await this.client.usage.removeBudget.mutate(team === undefined ? {} : { team });
  }
}
