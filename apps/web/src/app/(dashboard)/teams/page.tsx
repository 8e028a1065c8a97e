"use client";
/**
 * Teams: every team for administrators (create, remove), the acting team's members and custom
 * roles (changed by those with team.manage), and users (administrators). Switch the acting team
 * in the header.
 */
import { Alert, Group, Stack, Tabs, Text, Title } from "@mantine/core";
import { IconInfoCircle } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useMe } from "@/components/app-frame";
import {
  AddMemberButton,
  CreateRoleButton,
  CreateTeamButton,
  CreateUserButton,
  MembersTable,
  RolesTable,
  TeamsTable,
  UsersTable,
} from "@/components/team-admin";
import { LoadingState } from "@/components/query-state";
import { useTRPC } from "@/lib/trpc";

const noTeamRead = (
  <Alert icon={<IconInfoCircle size={16} />} color="gray">
    Your role does not allow team.read in this team.
  </Alert>
);

/** A tab about the acting team: a note and an action above its table. */
function TeamTab({
  note,
  action,
  children,
}: {
  note: ReactNode;
  action: ReactNode;
  children: ReactNode;
}) {
  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {note}
        </Text>
        {action}
      </Group>
      {children}
    </Stack>
  );
}

export default function TeamsPage() {
  const trpc = useTRPC();
  const me = useMe();
  const teams = useQuery(trpc.teams.list.queryOptions());
  if (!me) return <LoadingState label="Loading…" />;
  const team = me.team;
  const canManage = me.permissions.includes("team.manage");
  const canRead = me.permissions.includes("team.read");
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Teams</Title>
        {me.isAdmin && <CreateTeamButton />}
      </Group>
      <TeamsTable isAdmin={me.isAdmin} actingTeamId={team?.id ?? null} />
      <Tabs defaultValue="members" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="members">Members{team ? ` of ${team.name}` : ""}</Tabs.Tab>
          <Tabs.Tab value="roles">Roles</Tabs.Tab>
          {me.isAdmin && <Tabs.Tab value="users">Users</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="members" pt="sm">
          {!team || !canRead ? (
            noTeamRead
          ) : (
            <TeamTab
              note={
                canManage
                  ? "Change roles here; switch teams in the header."
                  : "Only members with team.manage change this list."
              }
              action={canManage && <AddMemberButton team={team.id} />}
            >
              <MembersTable team={team.id} canManage={canManage} />
            </TeamTab>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="roles" pt="sm">
          {!team || !canRead ? (
            noTeamRead
          ) : (
            <TeamTab
              note={<>Built-in roles, global custom roles and {team.name}&apos;s own.</>}
              action={canManage && <CreateRoleButton team={team.id} />}
            >
              <RolesTable team={team.id} canManage={canManage} />
            </TeamTab>
          )}
        </Tabs.Panel>
        {me.isAdmin && (
          <Tabs.Panel value="users" pt="sm">
            <Stack>
              <Group justify="flex-end">
                <CreateUserButton teams={teams.data ?? []} />
              </Group>
              <UsersTable />
            </Stack>
          </Tabs.Panel>
        )}
      </Tabs>
    </Stack>
  );
}
