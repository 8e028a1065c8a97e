"use client";
/**
 * The signed-in user's account: change password, sign out everywhere, and API tokens (create —
 * the secret shown once —, list, revoke).
 */
import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Code,
  CopyButton,
  Group,
  Modal,
  MultiSelect,
  Paper,
  PasswordInput,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { IconCheck, IconCopy, IconKey, IconLogout } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { PERMISSIONS } from "@berth/core";
import { useMe } from "@/components/app-frame";
import { ConfirmRemoveButton } from "@/components/confirm-remove";
import { ModalForm } from "@/components/form-modal";
import { EmptyState } from "@/components/query-state";
import { QueryTable } from "@/components/query-table";
import { RelativeTime } from "@/components/relative-time";
import { useNotifyingMutation } from "@/components/use-notifying-mutation";
import { useTRPC, type RouterOutputs } from "@/lib/trpc";

type TokenRow = RouterOutputs["auth"]["tokens"]["list"][number];

function ChangePassword() {
  const trpc = useTRPC();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const change = useNotifyingMutation(trpc.auth.changePassword.mutationOptions(), {
    success: () => ({
      title: "Password changed",
      message: "Your other sessions were signed out.",
    }),
    then: () => {
      setCurrent("");
      setNext("");
      setRepeat("");
    },
    errorTitle: "Password not changed",
    refresh: () => undefined,
  });
  const mismatch = repeat !== "" && repeat !== next;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    change.mutate({ currentPassword: current, newPassword: next });
  };
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="password-title">
      <form onSubmit={submit}>
        <Stack maw={360}>
          <Title order={2} size="h4" id="password-title">
            Change password
          </Title>
          <PasswordInput
            label="Current password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.currentTarget.value)}
            required
          />
          <PasswordInput
            label="New password"
            description="At least 8 characters"
            autoComplete="new-password"
            value={next}
            onChange={(e) => setNext(e.currentTarget.value)}
            minLength={8}
            required
          />
          <PasswordInput
            label="Repeat the new password"
            autoComplete="new-password"
            value={repeat}
            onChange={(e) => setRepeat(e.currentTarget.value)}
            error={mismatch ? "The passwords differ" : undefined}
            required
          />
          <Group>
            <Button type="submit" loading={change.isPending} disabled={mismatch}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

function SignOutEverywhere() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [tokens, setTokens] = useState(false);
  const [opened, setOpened] = useState(false);
  const out = useNotifyingMutation(trpc.auth.logoutEverywhere.mutationOptions(), {
    success: (d) => ({
      title: "Signed out everywhere",
      message: `${d.sessionsEnded} sessions ended${d.tokensRevoked ? `, ${d.tokensRevoked} tokens revoked` : ""}.`,
    }),
    then: () => {
      queryClient.clear();
      router.replace("/login");
    },
    errorTitle: "Could not sign out everywhere",
    refresh: () => undefined,
  });
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="sessions-title">
      <Stack maw={480} align="flex-start">
        <Title order={2} size="h4" id="sessions-title">
          Sessions
        </Title>
        <Text size="sm" c="dimmed">
          Sign out of every browser, this one included. API tokens keep working unless you revoke
          them too.
        </Text>
        <Checkbox
          label="Also revoke all my API tokens (the CLI's included)"
          checked={tokens}
          onChange={(e) => setTokens(e.currentTarget.checked)}
        />
        <Button
          color="red"
          variant="light"
          leftSection={<IconLogout size={16} aria-hidden />}
          onClick={() => setOpened(true)}
        >
          Sign out everywhere
        </Button>
      </Stack>
      <Modal opened={opened} onClose={() => setOpened(false)} title="Sign out everywhere?">
        <Stack>
          <Text size="sm">
            Every session ends{tokens ? " and every API token is revoked" : ""}; you will sign in
            again here.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>
              Cancel
            </Button>
            <Button color="red" loading={out.isPending} onClick={() => out.mutate({ tokens })}>
              Sign out everywhere
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Paper>
  );
}

const EXPIRY = [
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "never", label: "Never" },
];

function CreateToken({ onCreated }: { onCreated: () => void }) {
  const trpc = useTRPC();
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [expiry, setExpiry] = useState<string | null>("30");
  const [secret, setSecret] = useState<string | null>(null);
  const create = useNotifyingMutation(trpc.auth.tokens.create.mutationOptions(), {
    success: (t) => ({ title: "Token created", message: `Copy ${t.name} now: it is shown once.` }),
    then: (t) => setSecret(t.token),
    errorTitle: "Token not created",
    refresh: onCreated,
  });
  const close = () => {
    setOpened(false);
    setSecret(null);
    setName("");
    setScopes([]);
    setExpiry("30");
  };
  const submit = () => {
    create.mutate({
      name: name.trim(),
      ...(scopes.length ? { scopes: scopes as (typeof PERMISSIONS)[number][] } : {}),
      ...(expiry && expiry !== "never" ? { expiresInDays: Number(expiry) } : {}),
    });
  };
  return (
    <>
      <Button leftSection={<IconKey size={16} aria-hidden />} onClick={() => setOpened(true)}>
        Create token
      </Button>
      <Modal opened={opened} onClose={close} title={secret ? "Your new token" : "Create API token"}>
        {secret ? (
          <Stack>
            <Alert color="yellow" title="Copy it now">
              This is the only time the token is shown. Use it as <Code>BERTH_TOKEN</Code> or with{" "}
              <Code>berth --token</Code>.
            </Alert>
            <Code block data-testid="new-token">
              {secret}
            </Code>
            <Group justify="flex-end">
              <CopyButton value={secret}>
                {({ copied, copy }) => (
                  <Button
                    variant="light"
                    leftSection={copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
                    onClick={copy}
                  >
                    {copied ? "Copied" : "Copy"}
                  </Button>
                )}
              </CopyButton>
              <Button onClick={close}>Done</Button>
            </Group>
          </Stack>
        ) : (
          <ModalForm
            onSubmit={submit}
            submitLabel="Create"
            submitDisabled={!name.trim()}
            pending={create.isPending}
            cancelLabel="Cancel"
            onCancel={close}
          >
            <TextInput
              label="Name"
              placeholder="ci-deploy"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              required
              data-autofocus
            />
            <MultiSelect
              label="Scopes"
              description="Leave empty for all of your permissions"
              placeholder="all permissions"
              data={[...PERMISSIONS]}
              value={scopes}
              onChange={setScopes}
              searchable
              clearable
            />
            <Select
              label="Expires after"
              data={EXPIRY}
              value={expiry}
              onChange={setExpiry}
              allowDeselect={false}
            />
          </ModalForm>
        )}
      </Modal>
    </>
  );
}

function RevokeToken({ token, onDone }: { token: TokenRow; onDone: () => void }) {
  const trpc = useTRPC();
  const revoke = useNotifyingMutation(trpc.auth.tokens.revoke.mutationOptions(), {
    success: (t) => ({ title: "Token revoked", message: `${t.name} no longer works.` }),
    errorTitle: `Could not revoke ${token.name}`,
    refresh: onDone,
  });
  return (
    <ConfirmRemoveButton
      label={`Revoke token ${token.name}`}
      title={`Revoke ${token.name}?`}
      pending={revoke.isPending}
      onConfirm={(close) => revoke.mutate({ ref: token.id }, { onSettled: close })}
    >
      Anything using this token (CI jobs, scripts, the CLI) is refused from now on.
    </ConfirmRemoveButton>
  );
}

function tokenColumns(refresh: () => void): ColumnDef<TokenRow, unknown>[] {
  return [
    { id: "name", header: "Name", accessorKey: "name" },
    {
      id: "scopes",
      header: "Scopes",
      accessorFn: (t) => (t.scopes ? t.scopes.join(" ") : "all"),
      cell: (c) =>
        c.row.original.scopes ? (
          <Group gap={4}>
            {c.row.original.scopes.map((s) => (
              <Badge key={s} variant="light" size="sm">
                {s}
              </Badge>
            ))}
          </Group>
        ) : (
          <Text size="sm" c="dimmed">
            all of yours
          </Text>
        ),
    },
    {
      id: "created",
      header: "Created",
      accessorKey: "createdAt",
      cell: (c) => <RelativeTime at={c.row.original.createdAt} />,
    },
    {
      id: "used",
      header: "Last used",
      accessorFn: (t) => t.lastUsedAt ?? 0,
      cell: (c) =>
        c.row.original.lastUsedAt ? <RelativeTime at={c.row.original.lastUsedAt} /> : "never",
    },
    {
      id: "expires",
      header: "Expires",
      accessorFn: (t) => t.expiresAt ?? Number.MAX_SAFE_INTEGER,
      cell: (c) =>
        c.row.original.expiresAt ? <RelativeTime at={c.row.original.expiresAt} /> : "never",
    },
    {
      id: "actions",
      header: "Actions",
      enableSorting: false,
      cell: (c) => <RevokeToken token={c.row.original} onDone={refresh} />,
    },
  ];
}

function Tokens() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.auth.tokens.list.queryOptions({ all: false }));
  const refresh = () => void queryClient.invalidateQueries(trpc.auth.tokens.list.pathFilter());
  // `refresh` only invalidates: stable enough to build the columns once.
  const [columns] = useState(() => tokenColumns(refresh));
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="tokens-title">
      <Stack>
        <Group justify="space-between">
          <Title order={2} size="h4" id="tokens-title">
            API tokens
          </Title>
          <CreateToken onCreated={refresh} />
        </Group>
        <Text size="sm" c="dimmed">
          For the CLI and automation: <Code>berth token create</Code> does the same.
        </Text>
        <QueryTable
          query={tokens}
          what="tokens"
          empty={<EmptyState title="No API tokens">Create one for CI or scripts.</EmptyState>}
          label="API tokens"
          columns={columns}
          getRowId={(t) => t.id}
          initialSorting={[{ id: "created", desc: true }]}
          rowTestId="token-row"
        />
      </Stack>
    </Paper>
  );
}

export default function AccountPage() {
  const me = useMe();
  return (
    <Stack>
      <Title order={1}>Account{me ? `: ${me.username}` : ""}</Title>
      <Tokens />
      <ChangePassword />
      <SignOutEverywhere />
    </Stack>
  );
}
