"use client";
import { Button, Checkbox, Select, TextInput } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { NetworkCreateOptionsSchema } from "@berth/core";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";
import { useInvalidate } from "./use-invalidate";
import { FormModal } from "./form-modal";
import { ConfirmRemoveButton } from "./confirm-remove";
import { useNotifyingMutation } from "./use-notifying-mutation";

export type NetworkRow = RouterOutputs["networks"]["list"][number];

function useRefreshNetworks() {
  return useInvalidate((t) => [t.networks.pathKey()]);
}

/** Remove one network, after a confirmation (refused while containers are connected). */
export function RemoveNetworkButton({ network }: { network: NetworkRow }) {
  const trpc = useTRPC();
  const refresh = useRefreshNetworks();
  const remove = useNotifyingMutation(trpc.networks.remove.mutationOptions(), {
    success: () => ({
      title: "Network removed",
      message: `${network.name} was removed from ${network.nodeName}`,
    }),
    errorTitle: `Could not remove ${network.name}`,
    refresh,
  });
  if (network.isDefault) return null;
  return (
    <ConfirmRemoveButton
      label={`Remove network ${network.name} on ${network.nodeName}`}
      title={`Remove ${network.name}?`}
      pending={remove.isPending}
      onConfirm={(close) =>
        remove.mutate({ ref: network.id, node: network.nodeId }, { onSuccess: close })
      }
    >
      Deletes the network&apos;s bridge and rules on {network.nodeName}. A network with connected
      containers cannot be removed.
    </ConfirmRemoveButton>
  );
}

/** "Create network": a name, optional subnet/gateway, icc/masquerade/internal, the node. */
export function CreateNetworkButton() {
  const trpc = useTRPC();
  const refresh = useRefreshNetworks();
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState("");
  const [subnet, setSubnet] = useState("");
  const [gateway, setGateway] = useState("");
  const [icc, setIcc] = useState(true);
  const [masquerade, setMasquerade] = useState(true);
  const [internal, setInternal] = useState(false);
  const [node, setNode] = useState<string | null>(null);
  const nodes = useQuery(trpc.nodes.list.queryOptions(undefined, { enabled: opened }));
  const online = (nodes.data ?? []).filter((n) => n.status === "online");
  const parsed = NetworkCreateOptionsSchema.safeParse({
    name: name.trim(),
    ...(subnet.trim() ? { subnet: subnet.trim() } : {}),
    ...(gateway.trim() ? { gateway: gateway.trim() } : {}),
    icc,
    masquerade,
    internal,
  });
  const issue = (field: string) =>
    parsed.success ? null : (parsed.error.issues.find((i) => i.path[0] === field)?.message ?? null);
  const create = useNotifyingMutation(trpc.networks.create.mutationOptions(), {
    success: (n) => ({
      title: "Network created",
      message: `${n.name} (${n.subnet}) on ${n.nodeName}`,
    }),
    then: () => {
      setName("");
      setSubnet("");
      setGateway("");
      setOpened(false);
    },
    errorTitle: "Could not create the network",
    refresh,
  });
  const needNode = online.length > 1 && node === null;
  return (
    <>
      <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setOpened(true)}>
        Create network
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Create a network"
        onSubmit={() => {
          if (parsed.success && !needNode)
            create.mutate({ ...parsed.data, ...(node ? { node } : {}) });
        }}
        submitLabel="Create"
        submitDisabled={!parsed.success || needNode}
        pending={create.isPending}
        cancelLabel="Cancel"
      >
        <TextInput
          label="Network name"
          description="Your team's containers join it with --network NAME"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={name.trim() !== "" ? issue("name") : null}
          data-autofocus
        />
        <TextInput
          label="Subnet (optional)"
          placeholder="e.g. 10.10.0.0/24; default: the first free of the pool"
          value={subnet}
          onChange={(e) => setSubnet(e.currentTarget.value)}
          error={subnet.trim() !== "" ? issue("subnet") : null}
        />
        <TextInput
          label="Gateway (optional)"
          placeholder="default: the subnet's first address"
          value={gateway}
          onChange={(e) => setGateway(e.currentTarget.value)}
          error={gateway.trim() !== "" ? issue("gateway") : null}
        />
        <Checkbox
          label="Containers on it may talk to each other (icc)"
          checked={icc}
          onChange={(e) => setIcc(e.currentTarget.checked)}
        />
        <Checkbox
          label="Outbound NAT (masquerade)"
          checked={masquerade}
          onChange={(e) => setMasquerade(e.currentTarget.checked)}
        />
        <Checkbox
          label="Internal (no traffic in or out)"
          checked={internal}
          onChange={(e) => setInternal(e.currentTarget.checked)}
        />
        {online.length > 1 && (
          <Select
            label="Node"
            placeholder="Pick the node that gets it"
            data={online.map((n) => ({ value: n.id, label: n.name }))}
            value={node}
            onChange={setNode}
          />
        )}
      </FormModal>
    </>
  );
}
