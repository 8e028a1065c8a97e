"use client";
import { ActionIcon, Button, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import {
  IconPlayerPause,
  IconPlayerPlay,
  IconPlayerTrackNext,
  IconRefresh,
} from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { errorMessage } from "@/lib/errors";
import { canDo, type LifecycleVerb } from "@/lib/lifecycle-moves";
import { useTRPC, type ContainerView } from "@/lib/trpc";
import { notAllowed, useCan } from "./use-can";

const LABELS: Record<LifecycleVerb, { label: string; done: string; color: string }> = {
  start: { label: "Start", done: "started", color: "green" },
  restart: { label: "Restart", done: "restarted", color: "blue" },
  pause: { label: "Pause", done: "paused", color: "yellow" },
  unpause: { label: "Unpause", done: "unpaused", color: "green" },
};

const ICONS: Record<LifecycleVerb, typeof IconPlayerPlay> = {
  start: IconPlayerPlay,
  restart: IconRefresh,
  pause: IconPlayerPause,
  unpause: IconPlayerTrackNext,
};

/** Start / Restart / Pause / Unpause, each disabled when the container's state forbids it. */
export function LifecycleButtons({
  container,
  compact = false,
}: {
  container: ContainerView;
  compact?: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const mayUpdate = useCan()("container.update");
  const handlers = (verb: LifecycleVerb) => ({
    onSuccess: (c: ContainerView) =>
      notifications.show({
        color: "green",
        title: `Container ${LABELS[verb].done}`,
        message: `${c.name} is ${c.state}`,
      }),
    onError: (err: unknown, input: { ref: string }) =>
      notifications.show({
        color: "red",
        title: `Could not ${verb} ${input.ref}`,
        message: errorMessage(err),
      }),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: trpc.containers.pathKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.nodes.pathKey() });
    },
  });
  const mutations = {
    start: useMutation(trpc.containers.start.mutationOptions(handlers("start"))),
    restart: useMutation(trpc.containers.restart.mutationOptions(handlers("restart"))),
    pause: useMutation(trpc.containers.pause.mutationOptions(handlers("pause"))),
    unpause: useMutation(trpc.containers.unpause.mutationOptions(handlers("unpause"))),
  };
  const verbs: LifecycleVerb[] =
    container.state === "paused" ? ["unpause", "restart"] : ["start", "pause", "restart"];
  const anyPending = Object.values(mutations).some(
    (m) => m.isPending && m.variables?.ref === container.id,
  );

  return verbs.map((verb) => {
    const m = mutations[verb];
    const Icon = ICONS[verb];
    const { label, color } = LABELS[verb];
    const props = {
      color,
      disabled: !mayUpdate || !canDo(verb, container.state) || (anyPending && !m.isPending),
      loading: m.isPending && m.variables?.ref === container.id,
      onClick: () => m.mutate({ ref: container.id }),
    };
    return compact ? (
      <Tooltip key={verb} label={mayUpdate ? label : notAllowed("container.update")} withArrow>
        <ActionIcon variant="subtle" aria-label={`${label} ${container.name}`} {...props}>
          <Icon size={16} />
        </ActionIcon>
      </Tooltip>
    ) : (
      <Button key={verb} variant="light" leftSection={<Icon size={16} aria-hidden />} {...props}>
        {label}
      </Button>
    );
  });
}
