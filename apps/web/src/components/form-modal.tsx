"use client";
import { Button, Group, Modal, Stack, type ModalProps } from "@mantine/core";
import type { ReactNode } from "react";

export interface ModalFormProps {
  /** Runs when the form is submitted (the browser's own submission is prevented). */
  onSubmit: () => void;
  /** Text of the submit button. */
  submitLabel: ReactNode;
  submitDisabled?: boolean;
  /** The work is running: the submit button shows a spinner. */
  pending: boolean;
  /** When set, a default-variant button with this text calls onCancel ("Cancel", "Close"). */
  cancelLabel?: ReactNode;
  onCancel?: () => void;
  cancelDisabled?: boolean;
  children: ReactNode;
}

/**
 * The form of a dialog: fields stacked, then an optional cancel button and the submit button on
 * the right. Enter in a field submits.
 */
export function ModalForm({
  onSubmit,
  submitLabel,
  submitDisabled,
  pending,
  cancelLabel,
  onCancel,
  cancelDisabled,
  children,
}: ModalFormProps) {
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      <Stack>
        {children}
        <Group justify="flex-end">
          {cancelLabel !== undefined && (
            <Button variant="default" onClick={onCancel} disabled={cancelDisabled}>
              {cancelLabel}
            </Button>
          )}
          <Button type="submit" loading={pending} disabled={submitDisabled}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export interface FormModalProps extends Omit<ModalFormProps, "onCancel"> {
  opened: boolean;
  /** Closes the dialog (Escape, the close button, a click outside, the cancel button). */
  onClose: () => void;
  title: ReactNode;
  size?: ModalProps["size"];
}

/** The dashboard's dialog with one form (see ModalForm); its cancel button closes it. */
export function FormModal({ opened, onClose, title, size, ...form }: FormModalProps) {
  return (
    <Modal opened={opened} onClose={onClose} title={title} size={size}>
      <ModalForm {...form} onCancel={onClose} />
    </Modal>
  );
}
