"use client";
/**
 * Administrators: give a team an image of a node (images.assign) — one made before images
 * belonged to teams, or outside Berth, which only administrators see until then.
 */
import { Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { IconUserShare } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/lib/trpc";
import type { ImageRow } from "./image-actions";
import { ErrorState, LoadingState } from "./query-state";
import { RowAction } from "./row-action";
import { useNotifyingMutation } from "./use-notifying-mutation";

/** What an image row names on its node: the reference, or its id when the row has none. */
export function imageRefOf(image: Pick<ImageRow, "ref" | "digest">): string {
  return image.ref === "<none>:<none>" ? image.digest : image.ref;
}

export function AssignImageAction({ image }: { image: ImageRow }) {
  const [opened, setOpened] = useState(false);
  return (
    <>
      <RowAction
        tip="Assign to a team"
        label={`Assign ${image.ref} on ${image.nodeName} to a team`}
        onClick={() => setOpened(true)}
      >
        <IconUserShare size={16} />
      </RowAction>
      {opened && <AssignImageModal image={image} onClose={() => setOpened(false)} />}
    </>
  );
}

function AssignImageModal({ image, onClose }: { image: ImageRow; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const teams = useQuery(trpc.teams.list.queryOptions());
  const [team, setTeam] = useState<string | null>(null);
  const assign = useNotifyingMutation(trpc.images.assign.mutationOptions(), {
    success: (_r, input) => ({
      title: "Image assigned",
      message: `${image.ref} on ${image.nodeName} now belongs to ${
        teams.data?.find((t) => t.id === input.team)?.name ?? "the team"
      }`,
    }),
    then: onClose,
    errorTitle: `Could not assign ${image.ref}`,
    refresh: () => void queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() }),
  });
  return (
    <Modal opened onClose={onClose} title={`Assign ${image.ref} to a team`}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (team !== null) assign.mutate({ ref: imageRefOf(image), team, node: image.nodeId });
        }}
      >
        <Stack>
          <Text size="sm">
            The team will see and use this image on {image.nodeName}, as if it had pulled it.
            {image.teams.length > 0 ? ` Held now by: ${image.teams.join(", ")}.` : ""}
          </Text>
          {teams.isPending ? (
            <LoadingState label="Loading teams…" />
          ) : teams.isError ? (
            <ErrorState
              title="Could not load the teams"
              error={teams.error}
              onRetry={() => void teams.refetch()}
            />
          ) : (
            <Select
              label="Team"
              placeholder="Pick a team"
              data={teams.data.map((t) => ({ value: t.id, label: t.name }))}
              value={team}
              onChange={setTeam}
              searchable
              data-autofocus
            />
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={team === null} loading={assign.isPending}>
              Assign
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
