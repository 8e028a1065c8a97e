"use client";
import { Select } from "@mantine/core";
import { IconUsersGroup } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC, type Me } from "@/lib/trpc";

/** The cookie the server reads when a request names no team (`x-berth-team` wins over it). */
const TEAM_COOKIE = "berth_team";

/** Makes `teamId` the team the dashboard acts in, and refetches everything. */
export function useSwitchTeam() {
  const queryClient = useQueryClient();
  return (teamId: string) => {
    document.cookie = `${TEAM_COOKIE}=${encodeURIComponent(teamId)}; Path=/; SameSite=Lax; Max-Age=31536000`;
    void queryClient.invalidateQueries();
  };
}

/**
 * The header's team switcher: the teams the user is in (every team for administrators). What
 * every page shows and changes is the chosen team's.
 */
export function TeamSwitcher({ me }: { me: Me }) {
  const trpc = useTRPC();
  const teams = useQuery(trpc.teams.list.queryOptions(undefined, { staleTime: 30_000 }));
  const switchTeam = useSwitchTeam();
  const data = (teams.data ?? me.teams.map((t) => ({ id: t.id, name: t.name }))).map((t) => ({
    value: t.id,
    label: t.name,
  }));
  if (me.team && !data.some((d) => d.value === me.team!.id))
    data.unshift({ value: me.team.id, label: me.team.name });
  return (
    <Select
      aria-label="Team"
      data={data}
      value={me.team?.id ?? null}
      onChange={(v) => v && v !== me.team?.id && switchTeam(v)}
      leftSection={<IconUsersGroup size={16} aria-hidden />}
      allowDeselect={false}
      searchable={data.length > 8}
      w={190}
      size="xs"
      data-testid="team-switcher"
      disabled={data.length <= 1}
    />
  );
}
