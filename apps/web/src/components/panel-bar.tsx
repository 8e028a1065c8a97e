"use client";
import { Group, Text } from "@mantine/core";
import type { ReactNode } from "react";

/** The line under a bar of a bordered panel (logs, terminal). */
export const panelDivider = { borderBottom: "1px solid var(--mantine-color-default-border)" };

/**
 * The title bar of a bordered tool panel (logs, terminal): the title and its status on the left,
 * the panel's controls (children) on the right.
 */
export function PanelBar({
  title,
  status,
  children,
}: {
  title: string;
  status: ReactNode;
  children: ReactNode;
}) {
  return (
    <Group justify="space-between" px="md" py="xs" style={panelDivider}>
      <Group gap="xs">
        <Text fw={600}>{title}</Text>
        {status}
      </Group>
      {children}
    </Group>
  );
}
