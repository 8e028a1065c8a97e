/**
 * Team budgets: an amount per calendar month (UTC) and thresholds in percent. Teams whose usage
 * changed are checked at most every `budgetCheckMs` (default 30 s) rather than per ingest; each
 * threshold crossed in a month makes one notification (unique per team, month, threshold, so a
 * restart or a second check never repeats it) and one JSON POST to the budget's webhook, whose
 * outcome is stored on the notification. The webhook's target is checked when the budget is
 * set and again at every call (webhook-address.ts: no loopback, link-local, private… targets
 * unless the server allows private ones).
 */
import { BudgetInputSchema, type BudgetInput } from "@berth/core";
import { eq, teams, usageBudgets, usageNotifications, type Db } from "@berth/db";
import { checkWebhookTarget, postWebhook, type WebhookPolicy } from "./webhook-address";

export interface BudgetView {
  teamId: string;
  team: string;
  monthlyAmount: number;
  thresholds: number[];
  webhookUrl: string | null;
  /** Cost so far this month and its share of the amount, percent. */
  spent: number;
  percent: number;
}

export interface NotificationView {
  id: number;
  teamId: string;
  team: string;
  month: string;
  threshold: number;
  spent: number;
  budget: number;
  webhookResult: string | null;
  at: number;
}

const WEBHOOK_TIMEOUT_MS = 5000;

export function monthRange(now: number): { month: string; from: number; to: number } {
  const d = new Date(now);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { month: new Date(from).toISOString().slice(0, 7), from, to };
}

export class UsageBudgets {
  private readonly dirty = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private readonly webhook: WebhookPolicy;
  private checking: Promise<void> = Promise.resolve();
  private readonly logError: (message: string, error: unknown) => void;

  constructor(
    private readonly db: Db,
    private readonly cost: (teamId: string, from: number, to: number) => number,
    opts: {
      budgetCheckMs?: number;
      /** Webhooks may target loopback and private addresses (BERTH_WEBHOOK_ALLOW_PRIVATE). */
      webhookAllowPrivate?: boolean;
      webhookResolver?: WebhookPolicy["resolver"];
      now?: () => number;
      logError?: (message: string, error: unknown) => void;
    } = {},
  ) {
    this.webhook = {
      allowPrivate: opts.webhookAllowPrivate ?? false,
      ...(opts.webhookResolver ? { resolver: opts.webhookResolver } : {}),
    };
    this.logError = opts.logError ?? ((m, e) => console.error(m, e));
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => void this.checkDirty(), opts.budgetCheckMs ?? 30_000);
    this.timer.unref();
  }

  private readonly now: () => number;

  markDirty(teamId: string): void {
    this.dirty.add(teamId);
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Stores a team's budget; a webhook whose target is refused is an `invalid_input` error. */
  async set(teamId: string, raw: BudgetInput): Promise<BudgetView> {
    const input = BudgetInputSchema.parse(raw);
    if (input.webhookUrl) await checkWebhookTarget(input.webhookUrl, this.webhook);
    const values = {
      monthlyAmount: Math.round(input.monthlyAmount * 1e6),
      thresholds: [...new Set(input.thresholds)].sort((a, b) => a - b),
      webhookUrl: input.webhookUrl,
      updatedAt: new Date(),
    };
    this.db
      .insert(usageBudgets)
      .values({ teamId, ...values })
      .onConflictDoUpdate({ target: usageBudgets.teamId, set: values })
      .run();
    this.dirty.add(teamId);
    return this.list(teamId)[0]!;
  }

  list(teamId: string | null): BudgetView[] {
    const { from, to } = monthRange(this.now());
    return this.db
      .select({ b: usageBudgets, team: teams.name })
      .from(usageBudgets)
      .innerJoin(teams, eq(teams.id, usageBudgets.teamId))
      .where(teamId === null ? undefined : eq(usageBudgets.teamId, teamId))
      .all()
      .map(({ b, team }) => {
        const amount = b.monthlyAmount / 1e6;
        const spent = this.cost(b.teamId, from, to);
        return {
          teamId: b.teamId,
          team,
          monthlyAmount: amount,
          thresholds: b.thresholds,
          webhookUrl: b.webhookUrl,
          spent,
          percent: amount > 0 ? (spent / amount) * 100 : 0,
        };
      });
  }

  /**
   * Checks the teams whose usage changed since the last check (one check at a time). A team
   * whose check fails is logged and stays dirty (retried next time); it never stops the others
   * nor the later checks.
   */
  checkDirty(): Promise<void> {
    this.checking = this.checking.then(async () => {
      const ids = [...this.dirty];
      this.dirty.clear();
      for (const id of ids) {
        try {
          await this.check(id);
        } catch (e) {
          this.dirty.add(id);
          this.logError(`usage: budget check of team ${id} failed (retried later)`, e);
        }
      }
    });
    return this.checking;
  }

  /** Makes the notifications of every threshold a team has crossed this month; calls webhooks. */
  async check(teamId: string): Promise<NotificationView[]> {
    const b = this.db.select().from(usageBudgets).where(eq(usageBudgets.teamId, teamId)).get();
    if (!b) return [];
    const { month, from, to } = monthRange(this.now());
    const spent = this.cost(teamId, from, to);
    const spentMicro = Math.round(spent * 1e6);
    const team = this.db.select({ name: teams.name }).from(teams).where(eq(teams.id, teamId)).get();
    const made: NotificationView[] = [];
    for (const threshold of b.thresholds) {
      if (spentMicro * 100 < b.monthlyAmount * threshold) continue;
      const row = this.db
        .insert(usageNotifications)
        .values({ teamId, month, threshold, spentMicro, budgetMicro: b.monthlyAmount })
        .onConflictDoNothing()
        .returning()
        .get();
      if (!row) continue; // already notified this month
      let webhookResult: string | null = null;
      if (b.webhookUrl) {
        webhookResult = await this.callWebhook(b.webhookUrl, {
          type: "budget.threshold_crossed",
          teamId,
          team: team?.name ?? teamId,
          month,
          threshold,
          spent,
          budget: b.monthlyAmount / 1e6,
        });
        this.db
          .update(usageNotifications)
          .set({ webhookResult })
          .where(eq(usageNotifications.id, row.id))
          .run();
      }
      made.push({
        id: row.id,
        teamId,
        team: team?.name ?? teamId,
        month,
        threshold,
        spent,
        budget: b.monthlyAmount / 1e6,
        webhookResult,
        at: row.createdAt.getTime(),
      });
    }
    return made;
  }

  /** The target is checked again here: the name may resolve elsewhere since the budget was set. */
  private callWebhook(url: string, body: unknown): Promise<string> {
    return postWebhook(url, body, this.webhook, { timeoutMs: WEBHOOK_TIMEOUT_MS });
  }
}
