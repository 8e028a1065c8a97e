"use client";
/** The usage page's dialogs: a team's monthly budget (budget.manage) and unit prices (admins). */
import { Button, NumberInput, Select, TextInput } from "@mantine/core";
import { IconCoin, IconPigMoney } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { BudgetInputSchema, USAGE_UNITS, type UsageUnit } from "@berth/core";
import { useTRPC } from "@/lib/trpc";
import { useInvalidate } from "./use-invalidate";
import { FormModal } from "./form-modal";
import { useNotifyingMutation } from "./use-notifying-mutation";

function useRefreshUsage() {
  return useInvalidate((t) => [t.usage.pathKey()]);
}

/** "Set budget": the monthly amount of the team the caller acts in, thresholds and a webhook. */
export function SetBudgetButton() {
  const trpc = useTRPC();
  const refresh = useRefreshUsage();
  const [opened, setOpened] = useState(false);
  const [amount, setAmount] = useState<number | string>(100);
  const [thresholds, setThresholds] = useState("50, 80, 100");
  const [webhook, setWebhook] = useState("");
  const input = {
    monthlyAmount: Number(amount),
    thresholds: thresholds
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean)
      .map(Number),
    webhookUrl: webhook.trim() === "" ? null : webhook.trim(),
  };
  const parsed = BudgetInputSchema.safeParse(input);
  const set = useNotifyingMutation(trpc.usage.setBudget.mutationOptions(), {
    success: (b) => ({ title: "Budget set", message: `${b.team}: ${b.monthlyAmount} per month` }),
    then: () => setOpened(false),
    errorTitle: "Could not set the budget",
    refresh,
  });
  return (
    <>
      <Button
        variant="default"
        leftSection={<IconPigMoney size={14} aria-hidden />}
        onClick={() => setOpened(true)}
      >
        Set budget
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Monthly budget of your team"
        onSubmit={() => {
          if (parsed.success) set.mutate(parsed.data);
        }}
        submitLabel="Save"
        submitDisabled={!parsed.success}
        pending={set.isPending}
        cancelLabel="Cancel"
      >
        <NumberInput
          label="Amount per month (UTC)"
          min={0}
          decimalScale={2}
          value={amount}
          onChange={setAmount}
          data-autofocus
        />
        <TextInput
          label="Notify at (% of the amount)"
          description="Comma-separated, e.g. 50, 80, 100"
          value={thresholds}
          onChange={(e) => setThresholds(e.currentTarget.value)}
        />
        <TextInput
          label="Webhook URL (optional)"
          description="POSTed a JSON body when a threshold is crossed"
          placeholder="https://hooks.example.com/berth"
          value={webhook}
          onChange={(e) => setWebhook(e.currentTarget.value)}
          error={
            !parsed.success && webhook.trim() !== ""
              ? parsed.error.issues.find((i) => i.path[0] === "webhookUrl")?.message
              : undefined
          }
        />
      </FormModal>
    </>
  );
}

/** "Prices": set the price of a unit, for every pool or one pool (administrators). */
export function SetPriceButton() {
  const trpc = useTRPC();
  const refresh = useRefreshUsage();
  const [opened, setOpened] = useState(false);
  const [unit, setUnit] = useState<UsageUnit>("cpu_core_second");
  const [price, setPrice] = useState<number | string>(0);
  const [pool, setPool] = useState<string | null>(null);
  const pools = useQuery(trpc.pools.list.queryOptions(undefined, { enabled: opened }));
  const prices = useQuery(trpc.usage.prices.queryOptions(undefined, { enabled: opened }));
  const set = useNotifyingMutation(trpc.usage.setPrice.mutationOptions(), {
    success: () => ({ title: "Price saved", message: `${unit}: ${price}` }),
    errorTitle: "Could not save the price",
    refresh: () => {
      refresh();
      void prices.refetch();
    },
  });
  const current = (prices.data ?? []).find(
    (p) => p.unit === unit && (p.pool ?? null) === (pool ?? null),
  );
  return (
    <>
      <Button
        variant="default"
        leftSection={<IconCoin size={14} aria-hidden />}
        onClick={() => setOpened(true)}
      >
        Prices
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Unit prices"
        onSubmit={() => {
          const p = Number(price);
          if (Number.isFinite(p) && p >= 0)
            set.mutate({ unit, price: p, ...(pool ? { pool } : {}) });
        }}
        submitLabel="Save"
        pending={set.isPending}
        cancelLabel="Close"
      >
        <Select
          label="Unit"
          data={USAGE_UNITS.map((u) => ({ value: u, label: u }))}
          value={unit}
          onChange={(v) => v && setUnit(v as UsageUnit)}
          allowDeselect={false}
        />
        <Select
          label="Pool"
          placeholder="every pool (default price)"
          data={(pools.data ?? []).map((p) => ({ value: p.id, label: p.name }))}
          value={pool}
          onChange={setPool}
          clearable
        />
        <NumberInput
          label="Price per unit (0 removes it)"
          description={current ? `now ${current.price}` : "not set"}
          min={0}
          decimalScale={8}
          value={price}
          onChange={setPrice}
        />
      </FormModal>
    </>
  );
}
