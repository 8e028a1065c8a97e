"use client";
import {
  ActionIcon,
  Alert,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  Select,
  Stack,
  Text,
  Tooltip,
} from "@mantine/core";
import { IconCheck, IconCopy } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { errorMessage } from "@/lib/errors";
import { formatDateTime, formatRelative } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { useNow } from "./use-now";

const TTL_CHOICES = [
  { value: "900", label: "15 minutes" },
  { value: "3600", label: "1 hour" },
  { value: "86400", label: "1 day" },
  { value: "604800", label: "7 days" },
];

/** Creates a one-time join token and shows the `berth-agent …` command to run on the new host. */
export function AddNodeModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow(5000);
  const [ttl, setTtl] = useState("3600");
  const create = useMutation(
    trpc.joinTokens.create.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.nodes.list.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.joinTokens.pathKey() });
      },
    }),
  );

  function close() {
    create.reset();
    onClose();
  }

  return (
    <Modal opened={opened} onClose={close} title="Add a node" size="lg">
      <Stack>
        <Text size="sm">
          Create a one-time join token, then run the command below as root on the host you want to
          add. The agent dials out to this server, so the host needs no open port.
        </Text>
        {create.data ? (
          <Stack gap="xs">
            <Text size="sm" fw={500} id="join-command-label">
              Run on the new host:
            </Text>
            <Group gap="xs" wrap="nowrap" align="flex-start">
              <Code
                block
                style={{ flex: 1, whiteSpace: "pre-wrap", wordBreak: "break-all" }}
                data-testid="join-command"
                aria-labelledby="join-command-label"
              >
                {create.data.command}
              </Code>
              <CopyButton value={create.data.command}>
                {({ copied, copy }) => (
                  <Tooltip label={copied ? "Copied" : "Copy"} withArrow>
                    <ActionIcon
                      variant="light"
                      color={copied ? "teal" : "gray"}
                      onClick={copy}
                      aria-label="Copy join command"
                    >
                      {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
                    </ActionIcon>
                  </Tooltip>
                )}
              </CopyButton>
            </Group>
            <Text size="sm" c="dimmed">
              The token works once and expires {formatRelative(create.data.expiresAt, now)} (
              {formatDateTime(create.data.expiresAt)}).
            </Text>
            <Group justify="flex-end">
              <Button onClick={close}>Done</Button>
            </Group>
          </Stack>
        ) : (
          <Stack gap="sm">
            <Select
              label="Token expires after"
              data={TTL_CHOICES}
              value={ttl}
              onChange={(v) => setTtl(v ?? "3600")}
              allowDeselect={false}
            />
            {create.isError && (
              <Alert color="red" role="alert" title="Could not create a join token">
                {errorMessage(create.error)}
              </Alert>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button
                loading={create.isPending}
                onClick={() => create.mutate({ ttlSeconds: Number(ttl) })}
              >
                Create join token
              </Button>
            </Group>
          </Stack>
        )}
      </Stack>
    </Modal>
  );
}
