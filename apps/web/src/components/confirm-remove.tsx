"use client";
import { ActionIcon, Button, Group, Modal, Stack, Text, Tooltip } from "@mantine/core";
import { IconTrash } from "@tabler/icons-react";
import { useState, type ReactNode } from "react";

/**
 * A row's trash icon that asks first: a dialog with what removing does, Cancel and a red Remove.
 * `onConfirm(close)` runs the removal and calls `close` when it is done.
 */
export function ConfirmRemoveButton({
  label,
  title,
  children,
  pending,
  onConfirm,
}: {
  /** Accessible name of the icon, e.g. "Remove volume data on node-1". */
  label: string;
  /** The dialog's title, e.g. "Remove data?". */
  title: string;
  /** What removing does (and what refuses it). */
  children: ReactNode;
  pending: boolean;
  onConfirm: (close: () => void) => void;
}) {
  const [opened, setOpened] = useState(false);
  const close = () => setOpened(false);
  return (
    <>
      <Tooltip label="Remove" withArrow>
        <ActionIcon variant="subtle" color="red" aria-label={label} onClick={() => setOpened(true)}>
          <IconTrash size={16} />
        </ActionIcon>
      </Tooltip>
      <Modal opened={opened} onClose={close} title={title}>
        <Stack>
          <Text size="sm">{children}</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="red" loading={pending} onClick={() => onConfirm(close)}>
              Remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
