"use client";
/**
 * Effective access: for a user (yourself, or anyone for administrators), what they may do in
 * each team and why — the role that grants it, or being an administrator.
 */
import { Badge, Card, Group, Select, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useMe } from "@/components/app-frame";
import { EmptyState, ErrorState, LoadingState } from "@/components/query-state";
import { useTRPC } from "@/lib/trpc";

export default function AccessPage() {
  const trpc = useTRPC();
  const me = useMe();
  const [user, setUser] = useState<string | null>(null);
  const users = useQuery(trpc.users.list.queryOptions(undefined, { enabled: !!me?.isAdmin }));
  const other = useQuery(
    trpc.access.effective.queryOptions({ user: user ?? "" }, { enabled: !!user && !!me?.isAdmin }),
  );
  const mine = useQuery(trpc.access.mine.queryOptions(undefined, { enabled: !user }));
  const q = user ? other : mine;

  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <Title order={1}>Access</Title>
        {me?.isAdmin && (
          <Select
            label="User"
            placeholder={me.username}
            data={(users.data ?? []).map((u) => ({ value: u.id, label: u.username }))}
            value={user}
            onChange={setUser}
            searchable
            clearable
            w={260}
          />
        )}
      </Group>
      {q.isPending ? (
        <LoadingState label="Loading access…" />
      ) : q.isError || !q.data ? (
        <ErrorState
          title="Could not load access"
          error={q.error}
          onRetry={() => void q.refetch()}
        />
      ) : (
        <>
          <Text>
            <Text span fw={600}>
              {q.data.user.username}
            </Text>
            {q.data.user.isAdmin && " is an administrator: every permission in every team."}
            {q.data.user.disabled && " (disabled: may not sign in)"}
          </Text>
          {q.data.teams.length === 0 ? (
            <EmptyState title="No team">
              {q.data.user.username} is in no team and may do nothing there. Add them with `berth
              team add-member TEAM {q.data.user.username} --role viewer`.
            </EmptyState>
          ) : (
            q.data.teams.map((t) => (
              <Card key={t.teamId} withBorder data-testid="access-team">
                <Group justify="space-between" mb="xs">
                  <Group gap="xs">
                    <Title order={3}>{t.teamName}</Title>
                    {t.isDefault && (
                      <Badge size="xs" variant="light">
                        default team
                      </Badge>
                    )}
                  </Group>
                  <Text size="sm" c="dimmed">
                    {t.role
                      ? `via the ${t.role} role`
                      : q.data.user.isAdmin
                        ? "via administrator"
                        : "no membership"}
                  </Text>
                </Group>
                {t.permissions.length === 0 ? (
                  <Text size="sm" c="dimmed">
                    No permissions.
                  </Text>
                ) : (
                  <Group gap={6}>
                    {t.permissions.map((p) => (
                      <Badge
                        key={p.permission}
                        variant={p.via === "admin" ? "filled" : "light"}
                        color={p.via === "admin" ? "grape" : "blue"}
                        title={p.via === "admin" ? "as administrator" : `from the ${t.role} role`}
                      >
                        {p.permission}
                      </Badge>
                    ))}
                  </Group>
                )}
              </Card>
            ))
          )}
        </>
      )}
    </Stack>
  );
}
