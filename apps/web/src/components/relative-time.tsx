"use client";
import { Text, Tooltip } from "@mantine/core";
import { formatDateTime, formatRelative } from "@/lib/format";
import { useNow } from "./use-now";

/**
 * "5 s ago", kept true by its own clock, with the full date in a tooltip. Table cells use it
 * instead of taking `now` from the page: a column set rebuilt every second would give TanStack's
 * flexRender new cell components each second and remount every cell (closing open dialogs).
 */
export function RelativeTime({ at }: { at: number | null | undefined }) {
  const now = useNow();
  return (
    <Tooltip label={formatDateTime(at)} withArrow>
      <Text size="sm" span>
        {formatRelative(at, now)}
      </Text>
    </Tooltip>
  );
}
