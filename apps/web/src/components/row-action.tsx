"use client";
import { ActionIcon, Tooltip } from "@mantine/core";
import type { ReactNode } from "react";

/** A table row's icon button with a tooltip (`tip`) and an accessible name (`label`). */
export function RowAction({
  tip,
  label,
  onClick,
  color,
  children,
}: {
  tip: string;
  label: string;
  onClick: () => void;
  color?: string;
  children: ReactNode;
}) {
  return (
    <Tooltip label={tip} withArrow>
      <ActionIcon
        variant="subtle"
        {...(color ? { color } : {})}
        aria-label={label}
        onClick={onClick}
      >
        {children}
      </ActionIcon>
    </Tooltip>
  );
}
