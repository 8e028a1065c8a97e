"use client";
import { Badge, type MantineColor } from "@mantine/core";
import type { ContainerState } from "@berth/core";

const STATE_COLORS: Record<ContainerState, MantineColor> = {
  creating: "blue",
  created: "cyan",
  running: "green",
  paused: "yellow",
  stopping: "orange",
  exited: "gray",
  removing: "orange",
  dead: "red",
};

export function ContainerStateBadge({
  state,
  exitCode,
}: {
  state: ContainerState;
  exitCode?: number | null;
}) {
  const failed =
    state === "exited" && exitCode !== null && exitCode !== undefined && exitCode !== 0;
  return (
    <Badge
      color={failed ? "red" : STATE_COLORS[state]}
      variant="light"
      data-testid="container-state"
      data-state={state}
    >
      {state}
    </Badge>
  );
}

export function NodeStatusBadge({ status }: { status: "online" | "offline" }) {
  return (
    <Badge
      color={status === "online" ? "green" : "red"}
      variant="dot"
      data-testid="node-status"
      data-status={status}
    >
      {status}
    </Badge>
  );
}
