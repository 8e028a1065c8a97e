"use client";
import { Button, Select, TextInput } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { VolumeNameSchema } from "@berth/core";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";
import { useInvalidate } from "./use-invalidate";
import { FormModal } from "./form-modal";
import { ConfirmRemoveButton } from "./confirm-remove";
import { useNotifyingMutation } from "./use-notifying-mutation";

export type VolumeRow = RouterOutputs["volumes"]["list"][number];

function useRefreshVolumes() {
  return useInvalidate((t) => [t.volumes.pathKey()]);
}

/** Remove one volume, after a confirmation (the agent refuses while a container uses it). */
export function RemoveVolumeButton({ volume }: { volume: VolumeRow }) {
  const trpc = useTRPC();
  const refresh = useRefreshVolumes();
  const remove = useNotifyingMutation(trpc.volumes.remove.mutationOptions(), {
    success: () => ({
      title: "Volume removed",
      message: `${volume.name} was removed from ${volume.nodeName}`,
    }),
    errorTitle: `Could not remove ${volume.name}`,
    refresh,
  });
  return (
    <ConfirmRemoveButton
      label={`Remove volume ${volume.name} on ${volume.nodeName}`}
      title={`Remove ${volume.name}?`}
      pending={remove.isPending}
      onConfirm={(close) =>
        remove.mutate({ name: volume.name, node: volume.nodeId }, { onSuccess: close })
      }
    >
      Deletes the volume and every file in it on {volume.nodeName}. A volume a container uses cannot
      be removed.
    </ConfirmRemoveButton>
  );
}

/** "Create volume": a name and, when several nodes are online, the node to create it on. */
export function CreateVolumeButton() {
  const trpc = useTRPC();
  const refresh = useRefreshVolumes();
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState("");
  const [node, setNode] = useState<string | null>(null);
  const nodes = useQuery(trpc.nodes.list.queryOptions(undefined, { enabled: opened }));
  const online = (nodes.data ?? []).filter((n) => n.status === "online");
  const valid = VolumeNameSchema.safeParse(name.trim());
  const create = useNotifyingMutation(trpc.volumes.create.mutationOptions(), {
    success: (v) => ({ title: "Volume created", message: `${v.name} on ${v.nodeName}` }),
    then: () => {
      setName("");
      setOpened(false);
    },
    errorTitle: "Could not create the volume",
    refresh,
  });
  const needNode = online.length > 1 && node === null;
  return (
    <>
      <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setOpened(true)}>
        Create volume
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Create a volume"
        onSubmit={() => {
          if (valid.success && !needNode)
            create.mutate({ name: valid.data, ...(node ? { node } : {}) });
        }}
        submitLabel="Create"
        submitDisabled={!valid.success || needNode}
        pending={create.isPending}
        cancelLabel="Cancel"
      >
        <TextInput
          label="Volume name"
          description="At least 2 characters: letters, digits, '.', '_' and '-', starting with a letter or digit"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={name.trim() !== "" && !valid.success ? "not a valid volume name" : null}
          data-autofocus
        />
        {online.length > 1 && (
          <Select
            label="Node"
            placeholder="Pick the node that keeps it"
            data={online.map((n) => ({ value: n.id, label: n.name }))}
            value={node}
            onChange={setNode}
          />
        )}
      </FormModal>
    </>
  );
}
