"use client";
import { ActionIcon, Button, Group, Modal, Stack, Text, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlayerStop, IconTrash } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { errorMessage } from "@/lib/errors";
import { useTRPC, type ContainerView } from "@/lib/trpc";
import { LifecycleButtons } from "./lifecycle-actions";
import { notAllowed, useCan } from "./use-can";

const ACTIVE_STATES = new Set<ContainerView["state"]>([
  "running",
  "paused",
  "creating",
  "stopping",
]);
export const isActive = (c: Pick<ContainerView, "state">) => ACTIVE_STATES.has(c.state);

/** Stop and remove, with notifications carrying the server's message, and fresh lists after. */
export function useContainerMutations(opts: { onRemoved?: (id: string) => void } = {}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.containers.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.nodes.pathKey() });
  };
  const stop = useMutation(
    trpc.containers.stop.mutationOptions({
      onSuccess: (c) =>
        notifications.show({
          color: "green",
          title: "Container stopped",
          message: `${c.name} exited${c.exitCode !== null ? ` with code ${c.exitCode}` : ""}`,
        }),
      onError: (err, input) =>
        notifications.show({
          color: "red",
          title: `Could not stop ${input.ref}`,
          message: errorMessage(err),
        }),
      onSettled: refresh,
    }),
  );
  const remove = useMutation(
    trpc.containers.remove.mutationOptions({
      onSuccess: (r, input) => {
        notifications.show({
          color: "green",
          title: "Container removed",
          message: `${input.ref} was removed`,
        });
        opts.onRemoved?.(r.id);
      },
      onError: (err, input) =>
        notifications.show({
          color: "red",
          title: `Could not remove ${input.ref}`,
          message: errorMessage(err),
        }),
      onSettled: refresh,
    }),
  );
  return { stop, remove };
}

/**
 * Stop and Remove controls for one container. Removing a container that still runs asks for
 * confirmation and then forces it.
 */
export function ContainerActions({
  container,
  compact = false,
  onRemoved,
}: {
  container: ContainerView;
  compact?: boolean;
  onRemoved?: (id: string) => void;
}) {
  const { stop, remove } = useContainerMutations({ onRemoved });
  const can = useCan();
  const mayStop = can("container.update");
  const mayRemove = can("container.delete");
  const [confirming, setConfirming] = useState(false);
  const active = isActive(container);
  const stopping = stop.isPending && stop.variables?.ref === container.id;
  const removing = remove.isPending && remove.variables?.ref === container.id;

  const doStop = () => stop.mutate({ ref: container.id });
  const doRemove = () => {
    if (active) setConfirming(true);
    else remove.mutate({ ref: container.id });
  };

  return (
    <>
      {compact ? (
        <Group gap={4} wrap="nowrap">
          <LifecycleButtons container={container} compact />
          <Tooltip label={mayStop ? "Stop" : notAllowed("container.update")} withArrow>
            <ActionIcon
              variant="subtle"
              color="orange"
              aria-label={`Stop ${container.name}`}
              disabled={!mayStop || !active || container.state === "stopping"}
              loading={stopping}
              onClick={doStop}
            >
              <IconPlayerStop size={16} />
            </ActionIcon>
          </Tooltip>
          <Tooltip label={mayRemove ? "Remove" : notAllowed("container.delete")} withArrow>
            <ActionIcon
              variant="subtle"
              color="red"
              aria-label={`Remove ${container.name}`}
              disabled={!mayRemove}
              loading={removing}
              onClick={doRemove}
            >
              <IconTrash size={16} />
            </ActionIcon>
          </Tooltip>
        </Group>
      ) : (
        <Group gap="xs">
          <LifecycleButtons container={container} />
          <Button
            variant="light"
            color="orange"
            leftSection={<IconPlayerStop size={16} aria-hidden />}
            disabled={!mayStop || !active || container.state === "stopping"}
            title={mayStop ? undefined : notAllowed("container.update")}
            loading={stopping}
            onClick={doStop}
          >
            Stop
          </Button>
          <Button
            variant="light"
            color="red"
            leftSection={<IconTrash size={16} aria-hidden />}
            disabled={!mayRemove}
            title={mayRemove ? undefined : notAllowed("container.delete")}
            loading={removing}
            onClick={doRemove}
          >
            Remove
          </Button>
        </Group>
      )}
      <Modal
        opened={confirming}
        onClose={() => setConfirming(false)}
        title={`Remove ${container.name}?`}
      >
        <Stack>
          <Text size="sm">
            {container.name} is {container.state}. Removing it kills its processes and deletes its
            filesystem and logs.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
            <Button
              color="red"
              onClick={() => {
                setConfirming(false);
                remove.mutate({ ref: container.id, force: true });
              }}
            >
              Force remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
