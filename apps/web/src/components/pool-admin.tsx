"use client";
import {
  Badge,
  Button,
  CloseButton,
  Group,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  VisuallyHidden,
} from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { PoolNameSchema } from "@berth/core";
import { useTRPC, type NodeView } from "@/lib/trpc";
import { useInvalidate } from "./use-invalidate";
import { ConfirmRemoveButton } from "./confirm-remove";
import { EmptyState, QueryView } from "./query-state";
import { useNotifyingMutation } from "./use-notifying-mutation";

function useRefreshPools() {
  return useInvalidate((t) => [t.pools.pathKey(), t.nodes.pathKey()]);
}

/** The pool a node is in (administrators): a select of the pools, or none. */
export function NodePoolSelect({ node }: { node: Pick<NodeView, "id" | "name" | "poolId"> }) {
  const trpc = useTRPC();
  const refresh = useRefreshPools();
  const pools = useQuery(trpc.pools.list.queryOptions());
  const setPool = useNotifyingMutation(trpc.nodes.setPool.mutationOptions(), {
    success: (n) => ({
      title: "Pool changed",
      message: n.poolName ? `${n.name} is in pool ${n.poolName}` : `${n.name} is in no pool`,
    }),
    errorTitle: `Could not change ${node.name}'s pool`,
    refresh,
  });
  return (
    <Select
      label="Pool"
      description="Teams may use nodes of the pools granted to them; nodes in no pool serve every team"
      placeholder={pools.isPending ? "Loading pools…" : "No pool"}
      data={(pools.data ?? []).map((p) => ({ value: p.id, label: p.name }))}
      value={node.poolId}
      clearable
      disabled={setPool.isPending || pools.isError}
      error={pools.isError ? "Could not load the pools" : null}
      onChange={(v) => setPool.mutate({ ref: node.id, pool: v })}
      maw={360}
    />
  );
}

/** Pools (administrators): create, remove, and grant to or revoke from teams. */
export function PoolsSection() {
  const trpc = useTRPC();
  const refresh = useRefreshPools();
  const pools = useQuery(trpc.pools.list.queryOptions());
  const teams = useQuery(trpc.teams.list.queryOptions());
  const [name, setName] = useState("");
  const [grantTeam, setGrantTeam] = useState<Record<string, string | null>>({});
  const valid = PoolNameSchema.safeParse(name.trim());
  const create = useNotifyingMutation(trpc.pools.create.mutationOptions(), {
    success: (p) => ({
      title: "Pool created",
      message: `${p.name}: move nodes into it, then grant it to teams`,
    }),
    then: () => setName(""),
    errorTitle: "Could not create the pool",
    refresh,
  });
  const remove = useNotifyingMutation(trpc.pools.remove.mutationOptions(), {
    success: (r) => ({
      title: "Pool removed",
      message: `${r.name} is gone; its ${r.releasedNodes} node(s) are in no pool`,
    }),
    errorTitle: "Could not remove the pool",
    refresh,
  });
  const grant = useNotifyingMutation(trpc.pools.grant.mutationOptions(), {
    success: (p) => ({
      title: "Pool granted",
      message: `${p.name}: ${p.teams.map((t) => t.name).join(", ")}`,
    }),
    errorTitle: "Could not grant the pool",
    refresh,
  });
  const revoke = useNotifyingMutation(trpc.pools.revoke.mutationOptions(), {
    success: (p) => ({ title: "Grant revoked", message: `${p.name} was taken from the team` }),
    errorTitle: "Could not revoke the grant",
    refresh,
  });

  return (
    <Stack gap="sm">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (valid.success) create.mutate({ name: valid.data });
        }}
      >
        <Group align="flex-end">
          <TextInput
            label="New pool"
            placeholder="gpu"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={name.trim() && !valid.success ? valid.error.issues[0]?.message : null}
          />
          <Button
            type="submit"
            leftSection={<IconPlus size={16} aria-hidden />}
            disabled={!valid.success}
            loading={create.isPending}
          >
            Create pool
          </Button>
        </Group>
      </form>
      <QueryView
        query={pools}
        what="pools"
        empty={
          <EmptyState title="No pools">
            Every node serves every team until it is put in a pool.
          </EmptyState>
        }
      >
        {(data) => (
          <Table.ScrollContainer minWidth={600}>
            <Table striped aria-label="Pools" verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Pool</Table.Th>
                  <Table.Th>Nodes</Table.Th>
                  <Table.Th>Granted to</Table.Th>
                  <Table.Th>Grant to a team</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.map((p) => {
                  const candidates = (teams.data ?? []).filter(
                    (t) => !p.teams.some((g) => g.id === t.id),
                  );
                  return (
                    <Table.Tr key={p.id} data-testid="pool-row">
                      <Table.Td>
                        <Text fw={500}>{p.name}</Text>
                      </Table.Td>
                      <Table.Td>{p.nodes}</Table.Td>
                      <Table.Td>
                        {p.teams.length === 0 ? (
                          <Text size="sm" c="dimmed">
                            no team
                          </Text>
                        ) : (
                          <Group gap={4}>
                            {p.teams.map((t) => (
                              <Badge
                                key={t.id}
                                variant="light"
                                tt="none"
                                rightSection={
                                  <CloseButton
                                    size="xs"
                                    aria-label={`Revoke pool ${p.name} from team ${t.name}`}
                                    onClick={() => revoke.mutate({ ref: p.id, team: t.id })}
                                  />
                                }
                              >
                                {t.name}
                              </Badge>
                            ))}
                          </Group>
                        )}
                      </Table.Td>
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          <Select
                            aria-label={`Team to grant pool ${p.name} to`}
                            placeholder={teams.isPending ? "Loading…" : "Team"}
                            data={candidates.map((t) => ({ value: t.id, label: t.name }))}
                            value={grantTeam[p.id] ?? null}
                            onChange={(v) => setGrantTeam((g) => ({ ...g, [p.id]: v }))}
                            size="xs"
                            w={160}
                          />
                          <Button
                            size="xs"
                            variant="light"
                            disabled={!grantTeam[p.id]}
                            loading={grant.isPending}
                            onClick={() => {
                              const team = grantTeam[p.id];
                              if (team) grant.mutate({ ref: p.id, team });
                            }}
                          >
                            Grant
                          </Button>
                        </Group>
                      </Table.Td>
                      <Table.Td>
                        <ConfirmRemoveButton
                          label={`Remove pool ${p.name}`}
                          title={`Remove pool ${p.name}?`}
                          pending={remove.isPending}
                          onConfirm={(close) => remove.mutate({ ref: p.id }, { onSuccess: close })}
                        >
                          Its {p.nodes} node(s) are left in no pool (usable by every team) and its
                          grants go.
                        </ConfirmRemoveButton>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryView>
    </Stack>
  );
}
