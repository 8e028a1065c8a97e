"use client";
/**
 * Teams: every team for administrators (create, remove), the acting team's members and custom
 * roles (changed by those with team.manage), and users (administrators). Switch the acting team
 * in the header.
 */
import { Alert, Group, Stack, Tabs, Text, Title } from "@mantine/core";
import { IconInfoCircle } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
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
            <Alert icon={<IconInfoCircle size={16} />} color="gray">
              Your role does not allow team.read in this team.
            </Alert>
          ) : (
            <Stack>
              <Group justify="space-between">
                <Text size="sm" c="dimmed">
                  {canManage
                    ? "Change roles here; switch teams in the header."
                    : "Only members with team.manage change this list."}
                </Text>
                {canManage && <AddMemberButton team={team.id} />}
              </Group>
              <MembersTable team={team.id} canManage={canManage} />
            </Stack>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="roles" pt="sm">
          {!team || !canRead ? (
            <Alert icon={<IconInfoCircle size={16} />} color="gray">
              Your role does not allow team.read in this team.
            </Alert>
          ) : (
            <Stack>
              <Group justify="space-between">
                <Text size="sm" c="dimmed">
                  Built-in roles, global custom roles and {team.name}&apos;s own.
                </Text>
                {canManage && <CreateRoleButton team={team.id} />}
              </Group>
              <RolesTable team={team.id} canManage={canManage} />
            </Stack>
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
