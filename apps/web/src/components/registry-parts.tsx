"use client";
/**
 * Pieces of the Registry page (berth-server's own registry): the team's usage against its
 * quota, a repository's public switch, and the drawer with its tags, digests, sizes, pull
 * commands and deletes.
 */
import {
  ActionIcon,
  Badge,
  Code,
  CopyButton,
  Drawer,
  Group,
  Progress,
  Stack,
  Switch,
  Table,
  Text,
  Tooltip,
} from "@mantine/core";
import { IconCheck, IconCopy } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { formatBytes } from "@berth/core";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";
import { useInvalidate } from "./use-invalidate";
import { ConfirmRemoveButton } from "./confirm-remove";
import { EmptyState, QueryView } from "./query-state";
import { RelativeTime } from "./relative-time";
import { useNotifyingMutation } from "./use-notifying-mutation";

export type RegistryRepositoryRow = RouterOutputs["registry"]["repositories"][number];
type TagRow = RouterOutputs["registry"]["tags"][number];

function useRefreshRegistry() {
  return useInvalidate((t) => [t.registry.pathKey()]);
}

/** The caller's team: storage used against its quota (a bar when there is a quota). */
export function RegistryUsage() {
  const trpc = useTRPC();
  const usage = useQuery(trpc.registry.usage.queryOptions(undefined, { refetchInterval: 10_000 }));
  if (!usage.data) return null;
  const { team, usedBytes, quotaBytes } = usage.data;
  if (quotaBytes === null)
    return (
      <Text size="sm" c="dimmed" data-testid="registry-usage">
        Team {team}: {formatBytes(usedBytes)} stored, no quota
      </Text>
    );
  const pct = quotaBytes === 0 ? 100 : Math.min(100, (usedBytes / quotaBytes) * 100);
  const label = `Team ${team}: ${formatBytes(usedBytes)} of ${formatBytes(quotaBytes)} quota`;
  return (
    <Stack gap={4} w={280} data-testid="registry-usage">
      <Text size="sm">{label}</Text>
      <Progress
        value={pct}
        color={pct >= 90 ? "red" : pct >= 75 ? "yellow" : "blue"}
        aria-label={label}
      />
    </Stack>
  );
}

/** Public switch for those who may change it (owners, admins); a badge for everyone else. */
export function PublicSwitch({ repo }: { repo: RegistryRepositoryRow }) {
  const trpc = useTRPC();
  const refresh = useRefreshRegistry();
  const set = useNotifyingMutation(trpc.registry.setPublic.mutationOptions(), {
    success: (r) => ({
      title: r.public ? "Repository is public" : "Repository is private",
      message: r.public
        ? `Anyone may pull ${r.repository}, without signing in`
        : `Only team ${repo.team ?? "members"} may pull ${r.repository}`,
    }),
    errorTitle: `Could not change ${repo.name}`,
    refresh,
  });
  if (!repo.canDelete)
    return (
      <Badge variant="light" color={repo.public ? "green" : "gray"}>
        {repo.public ? "public" : "private"}
      </Badge>
    );
  return (
    <Switch
      label="Public"
      aria-label={`Public: anyone may pull ${repo.name}`}
      checked={repo.public}
      disabled={set.isPending}
      onChange={(e) => set.mutate({ repository: repo.name, public: e.currentTarget.checked })}
    />
  );
}

function CopyCommand({ command }: { command: string }) {
  return (
    <Group gap={4} wrap="nowrap">
      <Code>{command}</Code>
      <CopyButton value={command} timeout={1500}>
        {({ copied, copy }) => (
          <Tooltip label={copied ? "Copied" : "Copy"} withArrow>
            <ActionIcon
              variant="subtle"
              color={copied ? "teal" : "gray"}
              aria-label={`Copy ${command}`}
              onClick={copy}
            >
              {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
            </ActionIcon>
          </Tooltip>
        )}
      </CopyButton>
    </Group>
  );
}

function TagActions({ repo, tag }: { repo: RegistryRepositoryRow; tag: TagRow }) {
  const trpc = useTRPC();
  const refresh = useRefreshRegistry();
  const untag = useNotifyingMutation(trpc.registry.deleteTag.mutationOptions(), {
    success: (r) => ({ title: "Tag deleted", message: `${r.repository}:${r.tag}` }),
    errorTitle: `Could not delete ${repo.name}:${tag.tag}`,
    refresh,
  });
  const remove = useNotifyingMutation(trpc.registry.deleteManifest.mutationOptions(), {
    success: (r) => ({ title: "Image deleted", message: `${r.repository}@${r.digest}` }),
    errorTitle: `Could not delete ${repo.name}@${tag.digest}`,
    refresh,
  });
  return (
    <Group gap={4} wrap="nowrap">
      <ConfirmRemoveButton
        label={`Delete tag ${repo.name}:${tag.tag}`}
        title={`Delete tag ${tag.tag}?`}
        pending={untag.isPending}
        onConfirm={(close) =>
          untag.mutate({ repository: repo.name, tag: tag.tag }, { onSuccess: close })
        }
      >
        Removes the tag {repo.name}:{tag.tag}. The image stays pullable by its digest and under its
        other tags.
      </ConfirmRemoveButton>
      <ConfirmRemoveButton
        label={`Delete image ${repo.name}@${tag.digest}`}
        title="Delete the image?"
        pending={remove.isPending}
        onConfirm={(close) =>
          remove.mutate({ repository: repo.name, digest: tag.digest }, { onSuccess: close })
        }
      >
        Deletes the manifest {tag.digest.slice(0, 19)}… and every tag pointing at it. Its layers are
        freed by the next garbage collection if nothing else uses them.
      </ConfirmRemoveButton>
    </Group>
  );
}

/** The drawer of one repository: tags, digests, sizes, pull commands, deletes. */
export function RepositoryDrawer({
  repo,
  onClose,
}: {
  repo: RegistryRepositoryRow | null;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const info = useQuery(trpc.registry.info.queryOptions(undefined, { staleTime: Infinity }));
  const tags = useQuery(
    trpc.registry.tags.queryOptions(
      { repository: repo?.name ?? "" },
      { enabled: repo !== null, refetchInterval: 10_000 },
    ),
  );
  const host = info.data?.host ?? (typeof window === "undefined" ? "" : window.location.host);
  return (
    <Drawer
      opened={repo !== null}
      onClose={onClose}
      position="right"
      size="xl"
      title={repo ? <Text fw={600}>{repo.name}</Text> : null}
    >
      {repo && (
        <Stack>
          <Group>
            <PublicSwitch repo={repo} />
            <Text size="sm" c="dimmed">
              {formatBytes(repo.sizeBytes)} stored
            </Text>
          </Group>
          <QueryView
            query={tags}
            what="tags"
            empty={
              <EmptyState title="No tags">
                Push one: <Code>docker push {`${host}/${repo.name}:latest`}</Code>
              </EmptyState>
            }
          >
            {(data) => (
              <Table.ScrollContainer minWidth={640}>
                <Table aria-label={`Tags of ${repo.name}`} verticalSpacing="xs">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Tag</Table.Th>
                      <Table.Th>Digest</Table.Th>
                      <Table.Th>Size</Table.Th>
                      <Table.Th>Pushed</Table.Th>
                      {repo.canDelete && <Table.Th>Actions</Table.Th>}
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {data.map((t) => (
                      <Table.Tr key={t.tag} data-testid="registry-tag-row">
                        <Table.Td>
                          <Stack gap={2}>
                            <Text fw={500}>{t.tag}</Text>
                            <CopyCommand command={`docker pull ${host}/${repo.name}:${t.tag}`} />
                          </Stack>
                        </Table.Td>
                        <Table.Td>
                          <Tooltip label={t.digest} withArrow>
                            <Code>{t.digest.slice(0, 19)}</Code>
                          </Tooltip>
                        </Table.Td>
                        <Table.Td>{formatBytes(t.sizeBytes)}</Table.Td>
                        <Table.Td>
                          <RelativeTime at={t.pushedAt} />
                        </Table.Td>
                        {repo.canDelete && (
                          <Table.Td>
                            <TagActions repo={repo} tag={t} />
                          </Table.Td>
                        )}
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </QueryView>
        </Stack>
      )}
    </Drawer>
  );
}
