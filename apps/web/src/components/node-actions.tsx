"use client";
import {
  Badge,
  Button,
  Checkbox,
  Group,
  Modal,
  Stack,
  Table,
  Text,
  TextInput,
  VisuallyHidden,
} from "@mantine/core";
import {
  IconBan,
  IconCircleCheck,
  IconKey,
  IconPlayerStop,
  IconTag,
  IconTrash,
} from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { parseLabelArgs, type Labels } from "@berth/core";
import { useTRPC, type NodeView } from "@/lib/trpc";
import { useInvalidate } from "./use-invalidate";
import { FormModal } from "./form-modal";
import { useMe } from "./app-frame";
import { EmptyState, ErrorState, LoadingState } from "./query-state";
import { RelativeTime } from "./relative-time";
import { RowAction } from "./row-action";
import { useNotifyingMutation } from "./use-notifying-mutation";

type NodeRef = Pick<NodeView, "id" | "name" | "status" | "cordoned">;

function useRefreshNodes() {
  return useInvalidate((t) => [t.nodes.pathKey(), t.containers.pathKey()]);
}

/** What the signed-in user may do to nodes: cordon/drain (node.drain), manage (node.manage). */
export function useNodePermissions(): { drain: boolean; manage: boolean } {
  const me = useMe() as { isAdmin?: boolean; permissions?: string[] } | null;
  const has = (p: string) => me?.isAdmin === true || (me?.permissions ?? []).includes(p);
  return { drain: has("node.drain"), manage: has("node.manage") };
}

/** A button that opens a confirmation dialog before `onConfirm`. */
function ConfirmAction({
  tip,
  label,
  title,
  confirm,
  color,
  icon,
  pending,
  onConfirm,
  children,
}: {
  tip: string;
  label: string;
  title: string;
  confirm: string;
  color?: string;
  icon: ReactNode;
  pending: boolean;
  onConfirm: (close: () => void) => void;
  children: ReactNode;
}) {
  const [opened, setOpened] = useState(false);
  const close = () => setOpened(false);
  return (
    <>
      <RowAction
        tip={tip}
        label={label}
        onClick={() => setOpened(true)}
        {...(color ? { color } : {})}
      >
        {icon}
      </RowAction>
      <Modal opened={opened} onClose={close} title={title}>
        <Stack>
          {children}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color={color ?? "blue"} loading={pending} onClick={() => onConfirm(close)}>
              {confirm}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** Cordon / uncordon, drain, rotate credential and remove for one node (as the user may). */
export function NodeActions({ node }: { node: NodeRef }) {
  const trpc = useTRPC();
  const refresh = useRefreshNodes();
  const may = useNodePermissions();
  const [force, setForce] = useState(false);
  const cordon = useNotifyingMutation(
    (node.cordoned ? trpc.nodes.uncordon : trpc.nodes.cordon).mutationOptions(),
    {
      success: (r) => ({
        title: r.cordoned ? "Node cordoned" : "Node uncordoned",
        message: r.cordoned
          ? `${r.name} takes no new containers`
          : `${r.name} takes new containers again`,
      }),
      errorTitle: `Could not change ${node.name}`,
      refresh,
    },
  );
  const drain = useNotifyingMutation(trpc.nodes.drain.mutationOptions(), {
    success: (r) => ({
      title: `${r.node} drained`,
      message:
        `${r.stopped.length} container(s) stopped` +
        (r.failed.length ? `; ${r.failed.length} could not be stopped: ${r.failed[0]!.error}` : ""),
    }),
    errorTitle: `Could not drain ${node.name}`,
    refresh,
  });
  const rotate = useNotifyingMutation(trpc.nodes.rotateCredential.mutationOptions(), {
    success: (r) => ({
      title: "Credential rotated",
      message: `${r.name}'s agent stored its new credential; the old one is refused`,
    }),
    errorTitle: `Could not rotate ${node.name}'s credential`,
    refresh,
  });
  const remove = useNotifyingMutation(trpc.nodes.remove.mutationOptions(), {
    success: (r) => ({
      title: "Node removed",
      message: `${r.name} and ${r.forgottenContainers} container record(s) were removed`,
    }),
    errorTitle: `Could not remove ${node.name}`,
    refresh,
  });
  const online = node.status === "online";
  return (
    <Group gap={4} wrap="nowrap">
      {may.drain && (
        <RowAction
          tip={node.cordoned ? "Uncordon" : "Cordon"}
          label={`${node.cordoned ? "Uncordon" : "Cordon"} node ${node.name}`}
          onClick={() => cordon.mutate({ ref: node.id })}
        >
          {node.cordoned ? <IconCircleCheck size={16} /> : <IconBan size={16} />}
        </RowAction>
      )}
      {may.drain && (
        <ConfirmAction
          tip="Drain"
          label={`Drain node ${node.name}`}
          title={`Drain ${node.name}?`}
          confirm="Drain"
          color="orange"
          icon={<IconPlayerStop size={16} />}
          pending={drain.isPending}
          onConfirm={(close) =>
            drain.mutate({ ref: node.id, timeoutSeconds: 10 }, { onSuccess: close })
          }
        >
          <Text size="sm">
            Cordons {node.name} (no new containers go to it) and stops every container running on
            it, giving each 10 seconds before it is killed.
          </Text>
        </ConfirmAction>
      )}
      {may.manage && online && (
        <ConfirmAction
          tip="Rotate credential"
          label={`Rotate the credential of node ${node.name}`}
          title={`Rotate ${node.name}'s credential?`}
          confirm="Rotate"
          icon={<IconKey size={16} />}
          pending={rotate.isPending}
          onConfirm={(close) => rotate.mutate({ ref: node.id }, { onSuccess: close })}
        >
          <Text size="sm">
            Sends the agent a new credential; once it has stored it, the old one is refused.
          </Text>
        </ConfirmAction>
      )}
      {may.manage && (
        <ConfirmAction
          tip="Remove"
          label={`Remove node ${node.name}`}
          title={`Remove ${node.name}?`}
          confirm="Remove"
          color="red"
          icon={<IconTrash size={16} />}
          pending={remove.isPending}
          onConfirm={(close) => remove.mutate({ ref: node.id, force }, { onSuccess: close })}
        >
          <Text size="sm">
            Forgets the node and the records of its containers; its credential is refused from then
            on. Containers still running on the host are left alone.
          </Text>
          {online && (
            <Checkbox
              label="Its agent is connected: disconnect it and remove anyway"
              checked={force}
              onChange={(e) => setForce(e.currentTarget.checked)}
            />
          )}
        </ConfirmAction>
      )}
    </Group>
  );
}

export function LabelBadges({ labels }: { labels: Labels }) {
  const entries = Object.entries(labels);
  if (entries.length === 0)
    return (
      <Text size="sm" c="dimmed" span>
        —
      </Text>
    );
  return (
    <Group gap={4}>
      {entries.map(([k, v]) => (
        <Badge key={k} variant="light" color="gray" tt="none">
          {k}={v}
        </Badge>
      ))}
    </Group>
  );
}

/** Edits a node's labels: `key=value` to set, `key-` to remove, space-separated. */
export function EditLabelsButton({ node }: { node: Pick<NodeView, "id" | "name"> }) {
  const trpc = useTRPC();
  const refresh = useRefreshNodes();
  const [opened, setOpened] = useState(false);
  const [text, setText] = useState("");
  let parsed: ReturnType<typeof parseLabelArgs> | null = null;
  let error: string | null = null;
  try {
    parsed = parseLabelArgs(text.split(/\s+/).filter(Boolean));
  } catch (e) {
    error =
      e instanceof Error && "issues" in e
        ? "label keys use letters, digits, - _ . and an optional prefix/"
        : (e as Error).message;
  }
  const save = useNotifyingMutation(trpc.nodes.setLabels.mutationOptions(), {
    success: () => ({ title: "Labels saved", message: `${node.name}'s labels were updated` }),
    then: () => {
      setText("");
      setOpened(false);
    },
    errorTitle: `Could not change ${node.name}'s labels`,
    refresh,
  });
  return (
    <>
      <Button
        variant="default"
        size="xs"
        leftSection={<IconTag size={14} aria-hidden />}
        onClick={() => setOpened(true)}
      >
        Edit labels
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title={`Labels of ${node.name}`}
        onSubmit={() => {
          if (parsed) save.mutate({ ref: node.id, set: parsed.set, remove: parsed.remove });
        }}
        submitLabel="Save"
        submitDisabled={!parsed || !text.trim()}
        pending={save.isPending}
        cancelLabel="Cancel"
      >
        <TextInput
          label="Changes"
          description="key=value sets a label, key- removes one; separate with spaces"
          placeholder="zone=eu-1 gpu=a10 old-"
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          error={text.trim() ? error : null}
          data-autofocus
        />
      </FormModal>
    </>
  );
}

/** The join tokens (administrators): uses, pool, labels, expiry, revoke. */
export function JoinTokensSection() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(
    trpc.joinTokens.list.queryOptions(undefined, { refetchInterval: 10_000 }),
  );
  const revoke = useNotifyingMutation(trpc.joinTokens.revoke.mutationOptions(), {
    success: (t) => ({ title: "Join token revoked", message: `no node can join with ${t.id}` }),
    errorTitle: "Could not revoke the join token",
    refresh: () => void queryClient.invalidateQueries({ queryKey: trpc.joinTokens.pathKey() }),
  });
  if (tokens.isPending) return <LoadingState label="Loading join tokens…" />;
  if (tokens.isError)
    return (
      <ErrorState
        title="Could not load join tokens"
        error={tokens.error}
        onRetry={() => void tokens.refetch()}
      />
    );
  if (tokens.data.length === 0)
    return <EmptyState title="No join tokens">“Add node” creates one.</EmptyState>;
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table striped aria-label="Join tokens" verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>ID</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Uses</Table.Th>
            <Table.Th>Pool</Table.Th>
            <Table.Th>Labels</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tokens.data.map((t) => (
            <Table.Tr key={t.id} data-testid="join-token-row">
              <Table.Td>
                <Text size="sm" ff="monospace">
                  {t.id}
                </Text>
              </Table.Td>
              <Table.Td>
                <Badge
                  variant="light"
                  color={t.status === "active" ? "green" : t.status === "revoked" ? "red" : "gray"}
                >
                  {t.status}
                </Badge>
              </Table.Td>
              <Table.Td>
                {t.uses}/{t.maxUses}
              </Table.Td>
              <Table.Td>{t.poolName ?? "—"}</Table.Td>
              <Table.Td>
                <LabelBadges labels={t.labels} />
              </Table.Td>
              <Table.Td>
                <RelativeTime at={t.expiresAt} />
              </Table.Td>
              <Table.Td>
                <RelativeTime at={t.createdAt} />
              </Table.Td>
              <Table.Td>
                {t.status === "active" && (
                  <RowAction
                    tip="Revoke"
                    label={`Revoke join token ${t.id}`}
                    color="red"
                    onClick={() => revoke.mutate({ id: t.id })}
                  >
                    <IconBan size={16} />
                  </RowAction>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
