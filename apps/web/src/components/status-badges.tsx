"use client";
import { Badge, Tooltip, type MantineColor } from "@mantine/core";
import type { ContainerState, Health, HealthStatus } from "@berth/core";

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

const HEALTH_COLORS: Record<HealthStatus, MantineColor> = {
  starting: "yellow",
  healthy: "green",
  unhealthy: "red",
};

/** The healthcheck's status, with the last probe's output as a tooltip. */
export function HealthBadge({ health }: { health: Health }) {
  const last = health.log.at(-1);
  const badge = (
    <Badge
      color={HEALTH_COLORS[health.status]}
      variant="outline"
      data-testid="container-health"
      data-health={health.status}
    >
      {health.status}
    </Badge>
  );
  if (!last) return badge;
  return (
    <Tooltip
      label={`exit ${last.exitCode}${last.output ? `: ${last.output.trim().slice(0, 200)}` : ""}`}
      multiline
      maw={360}
    >
      {badge}
    </Tooltip>
  );
}
