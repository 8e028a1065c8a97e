"use client";
import {
  Alert,
  Button,
  Checkbox,
  Group,
  Modal,
  Select,
  SimpleGrid,
  Stack,
  TextInput,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "@/lib/errors";
import {
  buildRunInput,
  defaultRunFormValues,
  type RunFormField,
  type RunFormValues,
} from "@/lib/run-form";
import { useTRPC, type ContainerView } from "@/lib/trpc";

/** The "Run container" form: validated with the server's schema before it is sent. */
export function RunContainerModal({
  opened,
  onClose,
  onStarted,
}: {
  opened: boolean;
  onClose: () => void;
  onStarted?: (c: ContainerView) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [values, setValues] = useState<RunFormValues>(defaultRunFormValues);
  const [errors, setErrors] = useState<Partial<Record<RunFormField, string>>>({});
  const nodes = useQuery(trpc.nodes.list.queryOptions(undefined, { enabled: opened }));
  const onlineNodes = (nodes.data ?? []).filter((n) => n.status === "online");

  const run = useMutation(
    trpc.containers.run.mutationOptions({
      onSuccess: (c) => {
        notifications.show({
          color: "green",
          title: "Container started",
          message: `${c.name} (${c.shortId}) on ${c.nodeName}`,
        });
        setValues(defaultRunFormValues());
        setErrors({});
        onClose();
        onStarted?.(c);
      },
      onSettled: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.containers.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.nodes.pathKey() });
      },
    }),
  );

  const set = <K extends keyof RunFormValues>(key: K, value: RunFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  };

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    run.reset();
    const result = buildRunInput(values);
    if (!result.ok) {
      setErrors(result.errors);
      return;
    }
    setErrors({});
    run.mutate(result.input);
  }

  function close() {
    if (run.isPending) return;
    run.reset();
    setErrors({});
    onClose();
  }

  return (
    <Modal opened={opened} onClose={close} title="Run a container" size="lg">
      <form onSubmit={onSubmit} noValidate aria-label="Run a container">
        <Stack>
          {run.isError && (
            <Alert
              color="red"
              role="alert"
              title="The container did not start"
              data-testid="run-error"
            >
              {errorMessage(run.error)}
            </Alert>
          )}
          <TextInput
            label="Image"
            required
            data-autofocus
            value={values.image}
            onChange={(e) => set("image", e.currentTarget.value)}
            error={errors.image}
          />
          <TextInput
            label="Command"
            description="Split like a shell would (quotes, backslashes), but nothing is expanded. Empty: the image's default."
            placeholder={`sh -c 'echo hello; sleep 5'`}
            value={values.command}
            onChange={(e) => set("command", e.currentTarget.value)}
            error={errors.command}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
          />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label="Name"
              description="Optional; generated when empty."
              value={values.name}
              onChange={(e) => set("name", e.currentTarget.value)}
              error={errors.name}
            />
            <Select
              label="Node"
              description="Optional; the least busy online node when empty."
              placeholder={
                nodes.isPending
                  ? "Loading nodes…"
                  : onlineNodes.length
                    ? "Any online node"
                    : "No node is online"
              }
              data={onlineNodes.map((n) => ({ value: n.id, label: n.name }))}
              value={values.node}
              onChange={(v) => set("node", v)}
              clearable
              error={errors.node ?? (nodes.isError ? errorMessage(nodes.error) : undefined)}
            />
            <TextInput
              label="Memory limit"
              description="e.g. 64m, 1g; empty for none."
              value={values.memory}
              onChange={(e) => set("memory", e.currentTarget.value)}
              error={errors.memory}
            />
            <TextInput
              label="PIDs limit"
              description="Most processes at once; empty for none."
              inputMode="numeric"
              value={values.pidsLimit}
              onChange={(e) => set("pidsLimit", e.currentTarget.value)}
              error={errors.pidsLimit}
            />
          </SimpleGrid>
          <Checkbox
            label="Remove when it exits"
            checked={values.autoRemove}
            onChange={(e) => set("autoRemove", e.currentTarget.checked)}
            error={errors.autoRemove}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close} disabled={run.isPending}>
              Cancel
            </Button>
            <Button type="submit" loading={run.isPending}>
              Run
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
