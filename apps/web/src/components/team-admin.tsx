"use client";
/**
 * The Teams page's parts: teams (administrators create and remove them), the acting team's
 * members and custom roles (team.manage), and users (administrators).
 */
import {
  Badge,
  Button,
  Group,
  MultiSelect,
  PasswordInput,
  Select,
  Switch,
  Text,
  TextInput,
} from "@mantine/core";
import { IconPlus, IconUserOff, IconUserCheck } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useMemo, useState } from "react";
import {
  BUILTIN_ROLES,
  PERMISSIONS,
  RoleNameSchema,
  TeamNameSchema,
  UsernameSchema,
  type Permission,
} from "@berth/core";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";
import { actionsColumn } from "./columns";
import { useInvalidate } from "./use-invalidate";
import { FormModal } from "./form-modal";
import { ConfirmRemoveButton } from "./confirm-remove";
import { EmptyState } from "./query-state";
import { QueryTable } from "./query-table";
import { RelativeTime } from "./relative-time";
import { RowAction } from "./row-action";
import { useNotifyingMutation } from "./use-notifying-mutation";

type TeamRow = RouterOutputs["teams"]["list"][number];
type MemberRow = RouterOutputs["teams"]["members"][number];
type RoleRow = RouterOutputs["teams"]["roles"][number];
type UserRow = RouterOutputs["users"]["list"][number];

function useRefresh() {
  return useInvalidate((t) => [
    t.teams.pathKey(),
    t.users.pathKey(),
    t.access.pathKey(),
    t.auth.me.queryKey(),
  ]);
}

/** The roles a member may be given: built-in ones and the team's (and global) custom roles. */
function useRoleOptions(team: string) {
  const trpc = useTRPC();
  const roles = useQuery(trpc.teams.roles.queryOptions({ team }));
  return (roles.data ?? BUILTIN_ROLES.map((name) => ({ name, builtin: true }))).map((r) => ({
    value: r.name,
    label: r.builtin ? r.name : `${r.name} (custom)`,
  }));
}

// ---- teams -----------------------------------------------------------------------------------

function RemoveTeamButton({ team }: { team: TeamRow }) {
  const trpc = useTRPC();
  const remove = useNotifyingMutation(trpc.teams.remove.mutationOptions(), {
    success: (t) => ({ title: "Team removed", message: `${t.name} was removed` }),
    errorTitle: `Could not remove ${team.name}`,
    refresh: useRefresh(),
  });
  return (
    <ConfirmRemoveButton
      label={`Remove team ${team.name}`}
      title={`Remove ${team.name}?`}
      pending={remove.isPending}
      onConfirm={(close) => remove.mutate({ team: team.id }, { onSuccess: close })}
    >
      Removes the team with its memberships, custom roles and registry settings. A team that still
      owns containers cannot be removed.
    </ConfirmRemoveButton>
  );
}

export function CreateTeamButton() {
  const trpc = useTRPC();
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState("");
  const valid = TeamNameSchema.safeParse(name.trim());
  const create = useNotifyingMutation(trpc.teams.create.mutationOptions(), {
    success: (t) => ({ title: "Team created", message: t.name }),
    then: () => {
      setName("");
      setOpened(false);
    },
    errorTitle: "Could not create the team",
    refresh: useRefresh(),
  });
  return (
    <>
      <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setOpened(true)}>
        Create team
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Create a team"
        onSubmit={() => {
          if (valid.success) create.mutate({ name: valid.data });
        }}
        submitLabel="Create"
        submitDisabled={!valid.success}
        pending={create.isPending}
      >
        <TextInput
          label="Name"
          description="Lowercase letters and digits, separated by . _ or - (also the team's registry namespace)"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={name && !valid.success ? valid.error.issues[0]?.message : undefined}
          data-autofocus
          required
        />
      </FormModal>
    </>
  );
}

export function TeamsTable({
  isAdmin,
  actingTeamId,
}: {
  isAdmin: boolean;
  actingTeamId: string | null;
}) {
  const trpc = useTRPC();
  const teams = useQuery(trpc.teams.list.queryOptions());
  const columns = useMemo<ColumnDef<TeamRow, unknown>[]>(
    () => [
      {
        id: "name",
        header: "Team",
        accessorKey: "name",
        cell: (c) => (
          <Group gap="xs">
            <Text fw={500}>{c.row.original.name}</Text>
            {c.row.original.id === actingTeamId && (
              <Badge size="xs" variant="light">
                acting
              </Badge>
            )}
          </Group>
        ),
      },
      { id: "members", header: "Members", accessorKey: "members" },
      {
        id: "created",
        header: "Created",
        accessorKey: "createdAt",
        cell: (c) => <RelativeTime at={Date.parse(c.row.original.createdAt)} />,
        enableGlobalFilter: false,
      },
      ...(isAdmin ? [actionsColumn<TeamRow>((t) => <RemoveTeamButton team={t} />)] : []),
    ],
    [isAdmin, actingTeamId],
  );
  return (
    <QueryTable
      query={teams}
      what="teams"
      empty={
        <EmptyState title="No teams">
          Create one with Create team or `berth team create`.
        </EmptyState>
      }
      label="Teams"
      columns={columns}
      getRowId={(t) => t.id}
      initialSorting={[{ id: "name", desc: false }]}
      rowTestId="team-row"
    />
  );
}

// ---- members -----------------------------------------------------------------------------------

function MemberRoleSelect({ team, member }: { team: string; member: MemberRow }) {
  const trpc = useTRPC();
  const options = useRoleOptions(team);
  const setRole = useNotifyingMutation(trpc.teams.setRole.mutationOptions(), {
    success: (m) => ({ title: "Role changed", message: `${m.username} is now ${m.role}` }),
    errorTitle: `Could not change ${member.username}'s role`,
    refresh: useRefresh(),
  });
  return (
    <Select
      aria-label={`Role of ${member.username}`}
      data={options}
      value={member.role}
      onChange={(v) =>
        v && v !== member.role && setRole.mutate({ team, user: member.userId, role: v })
      }
      allowDeselect={false}
      size="xs"
      w={200}
      disabled={setRole.isPending}
    />
  );
}

function RemoveMemberButton({ team, member }: { team: string; member: MemberRow }) {
  const trpc = useTRPC();
  const remove = useNotifyingMutation(trpc.teams.removeMember.mutationOptions(), {
    success: (m) => ({ title: "Member removed", message: `${m.username} left the team` }),
    errorTitle: `Could not remove ${member.username}`,
    refresh: useRefresh(),
  });
  return (
    <ConfirmRemoveButton
      label={`Remove member ${member.username}`}
      title={`Remove ${member.username} from the team?`}
      pending={remove.isPending}
      onConfirm={(close) => remove.mutate({ team, user: member.userId }, { onSuccess: close })}
    >
      They lose access to the team&apos;s containers, images and registry. The team&apos;s last
      owner cannot be removed.
    </ConfirmRemoveButton>
  );
}

export function AddMemberButton({ team }: { team: string }) {
  const trpc = useTRPC();
  const options = useRoleOptions(team);
  const [opened, setOpened] = useState(false);
  const [user, setUser] = useState("");
  const [role, setRole] = useState<string | null>("viewer");
  const add = useNotifyingMutation(trpc.teams.addMember.mutationOptions(), {
    success: (m) => ({ title: "Member added", message: `${m.username} is ${m.role}` }),
    then: () => {
      setUser("");
      setOpened(false);
    },
    errorTitle: "Could not add the member",
    refresh: useRefresh(),
  });
  return (
    <>
      <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setOpened(true)}>
        Add member
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Add a member"
        onSubmit={() => {
          if (user.trim() && role) add.mutate({ team, user: user.trim(), role });
        }}
        submitLabel="Add"
        submitDisabled={!user.trim() || !role}
        pending={add.isPending}
      >
        <TextInput
          label="Username"
          value={user}
          onChange={(e) => setUser(e.currentTarget.value)}
          data-autofocus
          required
        />
        <Select
          label="Role"
          data={options}
          value={role}
          onChange={setRole}
          allowDeselect={false}
          required
        />
      </FormModal>
    </>
  );
}

export function MembersTable({ team, canManage }: { team: string; canManage: boolean }) {
  const trpc = useTRPC();
  const members = useQuery(trpc.teams.members.queryOptions({ team }));
  const columns = useMemo<ColumnDef<MemberRow, unknown>[]>(
    () => [
      {
        id: "username",
        header: "User",
        accessorKey: "username",
        cell: (c) => <Text fw={500}>{c.row.original.username}</Text>,
      },
      {
        id: "role",
        header: "Role",
        accessorKey: "role",
        cell: (c) =>
          canManage ? (
            <MemberRoleSelect team={team} member={c.row.original} />
          ) : (
            <Badge variant="light">{c.row.original.role}</Badge>
          ),
      },
      {
        id: "status",
        header: "Status",
        accessorFn: (m) => (m.disabled ? "disabled" : "active"),
        cell: (c) =>
          c.row.original.disabled ? (
            <Badge color="gray">disabled</Badge>
          ) : (
            <Badge color="green" variant="light">
              active
            </Badge>
          ),
      },
      {
        id: "since",
        header: "Member since",
        accessorKey: "createdAt",
        cell: (c) => <RelativeTime at={Date.parse(c.row.original.createdAt)} />,
        enableGlobalFilter: false,
      },
      ...(canManage
        ? [actionsColumn<MemberRow>((m) => <RemoveMemberButton team={team} member={m} />)]
        : []),
    ],
    [team, canManage],
  );
  return (
    <QueryTable
      query={members}
      what="members"
      empty={
        <EmptyState title="No members">
          Add one with Add member or `berth team add-member`.
        </EmptyState>
      }
      label="Members"
      columns={columns}
      getRowId={(m) => m.userId}
      initialSorting={[{ id: "username", desc: false }]}
      rowTestId="member-row"
    />
  );
}

// ---- roles ---------------------------------------------------------------------------------------

function RemoveRoleButton({ team, role }: { team: string; role: RoleRow }) {
  const trpc = useTRPC();
  const remove = useNotifyingMutation(trpc.teams.removeRole.mutationOptions(), {
    success: (r) => ({ title: "Role removed", message: r.name }),
    errorTitle: `Could not remove ${role.name}`,
    refresh: useRefresh(),
  });
  return (
    <ConfirmRemoveButton
      label={`Remove role ${role.name}`}
      title={`Remove the role ${role.name}?`}
      pending={remove.isPending}
      onConfirm={(close) => remove.mutate({ team, role: role.id! }, { onSuccess: close })}
    >
      A role that members still hold cannot be removed: give them another role first.
    </ConfirmRemoveButton>
  );
}

export function CreateRoleButton({ team }: { team: string }) {
  const trpc = useTRPC();
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState("");
  const [permissions, setPermissions] = useState<string[]>([]);
  const valid = RoleNameSchema.safeParse(name.trim());
  const create = useNotifyingMutation(trpc.teams.createRole.mutationOptions(), {
    success: (r) => ({ title: "Role created", message: `${r.name}: ${r.permissions.join(", ")}` }),
    then: () => {
      setName("");
      setPermissions([]);
      setOpened(false);
    },
    errorTitle: "Could not create the role",
    refresh: useRefresh(),
  });
  return (
    <>
      <Button
        variant="light"
        leftSection={<IconPlus size={16} aria-hidden />}
        onClick={() => setOpened(true)}
      >
        Create role
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Create a custom role"
        onSubmit={() => {
          if (valid.success && permissions.length > 0)
            create.mutate({ team, name: valid.data, permissions: permissions as Permission[] });
        }}
        submitLabel="Create"
        submitDisabled={!valid.success || permissions.length === 0}
        pending={create.isPending}
      >
        <TextInput
          label="Name"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={name && !valid.success ? valid.error.issues[0]?.message : undefined}
          data-autofocus
          required
        />
        <MultiSelect
          label="Permissions"
          data={[...PERMISSIONS]}
          value={permissions}
          onChange={setPermissions}
          searchable
          required
        />
      </FormModal>
    </>
  );
}

export function RolesTable({ team, canManage }: { team: string; canManage: boolean }) {
  const trpc = useTRPC();
  const roles = useQuery(trpc.teams.roles.queryOptions({ team }));
  const columns = useMemo<ColumnDef<RoleRow, unknown>[]>(
    () => [
      {
        id: "name",
        header: "Role",
        accessorKey: "name",
        cell: (c) => <Text fw={500}>{c.row.original.name}</Text>,
      },
      {
        id: "scope",
        header: "Scope",
        accessorFn: (r) => (r.builtin ? "built-in" : (r.teamName ?? "global")),
      },
      {
        id: "permissions",
        header: "Permissions",
        accessorFn: (r) => r.permissions.join(" "),
        enableSorting: false,
        cell: (c) => (
          <Group gap={4}>
            {c.row.original.permissions.map((p) => (
              <Badge key={p} size="xs" variant="outline">
                {p}
              </Badge>
            ))}
          </Group>
        ),
      },
      ...(canManage
        ? [
            actionsColumn<RoleRow>((r) =>
              r.builtin || r.teamId === null ? null : <RemoveRoleButton team={team} role={r} />,
            ),
          ]
        : []),
    ],
    [team, canManage],
  );
  return (
    <QueryTable
      query={roles}
      what="roles"
      empty={<EmptyState title="No roles" />}
      label="Roles"
      columns={columns}
      getRowId={(r) => r.id ?? `builtin:${r.name}`}
      rowTestId="role-row"
    />
  );
}

// ---- users (administrators) ----------------------------------------------------------------------

function UserStatusButton({ user }: { user: UserRow }) {
  const trpc = useTRPC();
  const refresh = useRefresh();
  const disable = useNotifyingMutation(trpc.users.disable.mutationOptions(), {
    success: (u) => ({ title: "User disabled", message: `${u.username} is signed out` }),
    errorTitle: `Could not disable ${user.username}`,
    refresh,
  });
  const enable = useNotifyingMutation(trpc.users.enable.mutationOptions(), {
    success: (u) => ({ title: "User enabled", message: u.username }),
    errorTitle: `Could not enable ${user.username}`,
    refresh,
  });
  return user.disabled ? (
    <RowAction
      tip="Enable"
      label={`Enable ${user.username}`}
      color="green"
      onClick={() => enable.mutate({ user: user.id })}
    >
      <IconUserCheck size={16} />
    </RowAction>
  ) : (
    <RowAction
      tip="Disable"
      label={`Disable ${user.username}`}
      color="red"
      onClick={() => disable.mutate({ user: user.id })}
    >
      <IconUserOff size={16} />
    </RowAction>
  );
}

export function CreateUserButton({ teams }: { teams: { id: string; name: string }[] }) {
  const trpc = useTRPC();
  const [opened, setOpened] = useState(false);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [team, setTeam] = useState<string | null>(null);
  const [role, setRole] = useState<string | null>("viewer");
  const [admin, setAdmin] = useState(false);
  const validName = UsernameSchema.safeParse(username.trim());
  const create = useNotifyingMutation(trpc.users.create.mutationOptions(), {
    success: (u) => ({
      title: "User created",
      message: u.teams.length
        ? `${u.username} (${u.teams[0]!.role} of ${u.teams[0]!.name})`
        : u.username,
    }),
    then: () => {
      setUsername("");
      setPassword("");
      setOpened(false);
    },
    errorTitle: "Could not create the user",
    refresh: useRefresh(),
  });
  const roleOptions = useRoleOptions(team ?? "");
  return (
    <>
      <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setOpened(true)}>
        Create user
      </Button>
      <FormModal
        opened={opened}
        onClose={() => setOpened(false)}
        title="Create a user"
        onSubmit={() => {
          if (validName.success && password.length >= 8)
            create.mutate({
              username: validName.data,
              password,
              isAdmin: admin,
              ...(team ? { team, role: role ?? "viewer" } : {}),
            });
        }}
        submitLabel="Create"
        submitDisabled={!validName.success || password.length < 8}
        pending={create.isPending}
      >
        <TextInput
          label="Username"
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          error={username && !validName.success ? validName.error.issues[0]?.message : undefined}
          data-autofocus
          required
        />
        <PasswordInput
          label="Password"
          description="At least 8 characters"
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
          required
        />
        <Select
          label="Team"
          placeholder="No team"
          data={teams.map((t) => ({ value: t.id, label: t.name }))}
          value={team}
          onChange={setTeam}
          clearable
        />
        {team && (
          <Select
            label="Role in the team"
            data={roleOptions}
            value={role}
            onChange={setRole}
            allowDeselect={false}
          />
        )}
        <Switch
          label="Administrator"
          checked={admin}
          onChange={(e) => setAdmin(e.currentTarget.checked)}
        />
      </FormModal>
    </>
  );
}

export function UsersTable() {
  const trpc = useTRPC();
  const users = useQuery(trpc.users.list.queryOptions());
  const columns = useMemo<ColumnDef<UserRow, unknown>[]>(
    () => [
      {
        id: "username",
        header: "User",
        accessorKey: "username",
        cell: (c) => (
          <Group gap="xs">
            <Text fw={500}>{c.row.original.username}</Text>
            {c.row.original.isAdmin && (
              <Badge size="xs" color="grape">
                admin
              </Badge>
            )}
          </Group>
        ),
      },
      {
        id: "teams",
        header: "Teams",
        accessorFn: (u) => u.teams.map((t) => `${t.name}:${t.role}`).join(" "),
        cell: (c) => (
          <Group gap={4}>
            {c.row.original.teams.map((t) => (
              <Badge key={t.id} size="sm" variant="light">
                {t.name}: {t.role}
              </Badge>
            ))}
          </Group>
        ),
      },
      {
        id: "status",
        header: "Status",
        accessorFn: (u) => (u.disabled ? "disabled" : "active"),
      },
      actionsColumn<UserRow>((u) => <UserStatusButton user={u} />),
    ],
    [],
  );
  return (
    <QueryTable
      query={users}
      what="users"
      empty={<EmptyState title="No users" />}
      label="Users"
      columns={columns}
      getRowId={(u) => u.id}
      initialSorting={[{ id: "username", desc: false }]}
      rowTestId="user-row"
    />
  );
}
