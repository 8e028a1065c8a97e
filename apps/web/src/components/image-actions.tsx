"use client";
import {
  Button,
  Checkbox,
  Code,
  Drawer,
  Group,
  Modal,
  ScrollArea,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { IconCloudUpload, IconInfoCircle, IconTag, IconTrash } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { formatBytes, ImageRefSchema, shortImageId } from "@berth/core";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";
import { ErrorState, LoadingState } from "./query-state";
import { imageRefOf } from "./image-assign";
import { PushImageModal } from "./image-transfer";
import { RowAction } from "./row-action";
import { useNotifyingMutation } from "./use-notifying-mutation";

export type ImageRow = RouterOutputs["images"]["list"][number];

function useRefreshImages() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => void queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() });
}

/** Inspect, tag and remove buttons for one image row, with their dialogs. */
export function ImageActions({ image, canWrite }: { image: ImageRow; canWrite: boolean }) {
  const [open, setOpen] = useState<"inspect" | "tag" | "push" | "remove" | null>(null);
  return (
    <>
      <Group gap={4} wrap="nowrap">
        <RowAction
          tip="Inspect"
          label={`Inspect ${image.ref} on ${image.nodeName}`}
          onClick={() => setOpen("inspect")}
        >
          <IconInfoCircle size={16} />
        </RowAction>
        {canWrite && (
          <>
            <RowAction
              tip="Tag"
              label={`Tag ${image.ref} on ${image.nodeName}`}
              onClick={() => setOpen("tag")}
            >
              <IconTag size={16} />
            </RowAction>
            <RowAction
              tip="Push"
              label={`Push ${image.ref} on ${image.nodeName}`}
              onClick={() => setOpen("push")}
            >
              <IconCloudUpload size={16} />
            </RowAction>
            <RowAction
              tip="Remove"
              color="red"
              label={`Remove ${image.ref} on ${image.nodeName}`}
              onClick={() => setOpen("remove")}
            >
              <IconTrash size={16} />
            </RowAction>
          </>
        )}
      </Group>
      <InspectDrawer image={image} opened={open === "inspect"} onClose={() => setOpen(null)} />
      {canWrite && (
        <>
          <TagModal image={image} opened={open === "tag"} onClose={() => setOpen(null)} />
          {open === "push" && (
            <PushImageModal
              source={imageRefOf(image)}
              nodeId={image.nodeId}
              opened
              onClose={() => setOpen(null)}
            />
          )}
          <RemoveModal image={image} opened={open === "remove"} onClose={() => setOpen(null)} />
        </>
      )}
    </>
  );
}

function InspectDrawer({
  image,
  opened,
  onClose,
}: {
  image: ImageRow;
  opened: boolean;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const details = useQuery(
    trpc.images.inspect.queryOptions(
      { ref: image.digest, node: image.nodeId },
      { enabled: opened },
    ),
  );
  return (
    <Drawer
      opened={opened}
      onClose={onClose}
      position="right"
      size="xl"
      title={`${image.ref} on ${image.nodeName}`}
    >
      {details.isPending ? (
        <LoadingState label="Loading the image…" />
      ) : details.isError ? (
        <ErrorState
          title="Could not load the image"
          error={details.error}
          onRetry={() => void details.refetch()}
        />
      ) : (
        <ImageDetailsBody d={details.data} />
      )}
    </Drawer>
  );
}

function ImageDetailsBody({ d }: { d: RouterOutputs["images"]["inspect"] }) {
  return (
    <Stack data-testid="image-details">
      <Table variant="vertical" withTableBorder>
        <Table.Tbody>
          <Table.Tr>
            <Table.Th w={140}>Digest</Table.Th>
            <Table.Td>
              <Code>{d.digest}</Code>
            </Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th>References</Table.Th>
            <Table.Td data-testid="image-refs">{d.refs.join(", ") || "—"}</Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th>Platform</Table.Th>
            <Table.Td>
              {d.os}/{d.architecture}
            </Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th>Size</Table.Th>
            <Table.Td>{formatBytes(d.size)}</Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th>Created</Table.Th>
            <Table.Td>{d.created ?? "—"}</Table.Td>
          </Table.Tr>
        </Table.Tbody>
      </Table>
      <Text fw={600}>Layers ({d.layers.length})</Text>
      <Table aria-label="Layers" withTableBorder>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Digest</Table.Th>
            <Table.Th>Size</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {d.layers.map((l) => (
            <Table.Tr key={l.digest}>
              <Table.Td>
                <Code>{shortImageId(l.digest)}</Code>
              </Table.Td>
              <Table.Td>{formatBytes(l.size)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Text fw={600}>Config</Text>
      <ScrollArea.Autosize mah={320}>
        <Code block data-testid="image-config">
          {JSON.stringify(d.config, null, 2)}
        </Code>
      </ScrollArea.Autosize>
    </Stack>
  );
}

function TagModal({
  image,
  opened,
  onClose,
}: {
  image: ImageRow;
  opened: boolean;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshImages();
  const [target, setTarget] = useState("");
  const valid = ImageRefSchema.safeParse(target.trim());
  const tag = useNotifyingMutation(trpc.images.tag.mutationOptions(), {
    success: (_r, input) => ({
      title: "Image tagged",
      message: `${input.target} now names ${image.ref}`,
    }),
    then: () => {
      setTarget("");
      onClose();
    },
    errorTitle: "Could not tag",
    refresh,
  });
  return (
    <Modal opened={opened} onClose={onClose} title={`Tag ${image.ref}`}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (valid.success)
            tag.mutate({ source: image.digest, target: valid.data, node: image.nodeId });
        }}
      >
        <Stack>
          <TextInput
            label="New reference"
            description="NAME[:TAG], for example registry.example:5000/team/app:v2"
            value={target}
            onChange={(e) => setTarget(e.currentTarget.value)}
            error={target.trim() !== "" && !valid.success ? "not a valid image reference" : null}
            data-autofocus
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={!valid.success} loading={tag.isPending}>
              Tag
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function RemoveModal({
  image,
  opened,
  onClose,
}: {
  image: ImageRow;
  opened: boolean;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshImages();
  const [force, setForce] = useState(false);
  const remove = useNotifyingMutation(trpc.images.remove.mutationOptions(), {
    success: (r) => ({
      title: "Image removed",
      message:
        [
          ...r.untagged.map((u) => `untagged ${u}`),
          ...r.deleted.map((d) => `deleted ${shortImageId(d)}`),
        ].join(", ") || "nothing to remove",
    }),
    then: onClose,
    errorTitle: `Could not remove ${image.ref}`,
    refresh,
  });
  return (
    <Modal opened={opened} onClose={onClose} title={`Remove ${image.ref}?`}>
      <Stack>
        <Text size="sm">
          Removes the reference {image.ref} from {image.nodeName}; the image itself is deleted once
          no other reference names it and no container uses it.
        </Text>
        <Checkbox
          label="Force: untag even if a container uses it (its files stay until the container is removed)"
          checked={force}
          onChange={(e) => setForce(e.currentTarget.checked)}
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button
            color="red"
            loading={remove.isPending}
            onClick={() => remove.mutate({ ref: imageRefOf(image), force, node: image.nodeId })}
          >
            Remove
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** "Prune unused images" on every online node, with the choice of docker's `-a`. */
export function PruneImagesButton() {
  const trpc = useTRPC();
  const refresh = useRefreshImages();
  const [opened, setOpened] = useState(false);
  const [all, setAll] = useState(false);
  const prune = useNotifyingMutation(trpc.images.prune.mutationOptions(), {
    success: (results) => {
      const deleted = results.reduce((n, r) => n + r.deleted.length, 0);
      const bytes = results.reduce((n, r) => n + r.reclaimedBytes, 0);
      return {
        title: "Images pruned",
        message: `${deleted} image${deleted === 1 ? "" : "s"} deleted, ${formatBytes(bytes)} reclaimed`,
      };
    },
    then: () => setOpened(false),
    errorTitle: "Could not prune",
    refresh,
  });
  return (
    <>
      <Button variant="light" color="red" onClick={() => setOpened(true)}>
        Prune unused
      </Button>
      <Modal opened={opened} onClose={() => setOpened(false)} title="Prune unused images?">
        <Stack>
          <Text size="sm">
            Frees the files of images that no reference names and no container uses, on every online
            node.
          </Text>
          <Checkbox
            label="Also remove every image no container uses (docker image prune -a)"
            checked={all}
            onChange={(e) => setAll(e.currentTarget.checked)}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>
              Cancel
            </Button>
            <Button color="red" loading={prune.isPending} onClick={() => prune.mutate({ all })}>
              Prune
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
