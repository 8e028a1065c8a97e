"use client";
import {
  Anchor,
  AppShell,
  Avatar,
  Burger,
  Center,
  Group,
  Menu,
  NavLink,
  Text,
  Title,
  UnstyledButton,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import {
  IconBox,
  IconDatabase,
  IconNetwork,
  IconPackages,
  IconStack2,
  IconChevronDown,
  IconReportMoney,
  IconLayoutDashboard,
  IconLogout,
  IconShieldCheck,
  IconUserCircle,
  IconServer2,
  IconKey,
  IconUsersGroup,
  IconShip,
} from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, type ReactNode } from "react";
import { errorMessage } from "@/lib/errors";
import { loginPathFor } from "@/lib/next-path";
import { useTRPC, type Me } from "@/lib/trpc";
import { ErrorState, LoadingState } from "./query-state";
import { TeamSwitcher } from "./team-switcher";

const NAV = [
  { href: "/", label: "Overview", icon: IconLayoutDashboard },
  { href: "/nodes", label: "Nodes", icon: IconServer2 },
  { href: "/containers", label: "Containers", icon: IconBox },
  { href: "/images", label: "Images", icon: IconStack2 },
  { href: "/volumes", label: "Volumes", icon: IconDatabase },
  { href: "/networks", label: "Networks", icon: IconNetwork },
  { href: "/registry", label: "Registry", icon: IconPackages },
  { href: "/usage", label: "Usage", icon: IconReportMoney },
  { href: "/teams", label: "Teams", icon: IconUsersGroup },
  { href: "/access", label: "Access", icon: IconKey },
  { href: "/audit", label: "Audit", icon: IconShieldCheck },
] as const;

function isActive(pathname: string, href: string): boolean {
  return href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
}

function UserMenu({ me }: { me: Me }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSuccess: () => {
        queryClient.clear();
        queryClient.setQueryData(trpc.auth.me.queryKey(), null);
        router.replace("/login");
      },
      onError: (err) =>
        notifications.show({ color: "red", title: "Sign out failed", message: errorMessage(err) }),
    }),
  );
  return (
    <Menu position="bottom-end" width={200}>
      <Menu.Target>
        <UnstyledButton aria-label={`User menu for ${me.username}`}>
          <Group gap={6}>
            <Avatar size="sm" radius="xl" color="indigo">
              {me.username.slice(0, 1).toUpperCase()}
            </Avatar>
            <Text size="sm" fw={500} visibleFrom="xs">
              {me.username}
            </Text>
            <IconChevronDown size={14} aria-hidden />
          </Group>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>
          Signed in as {me.username}
          {me.isAdmin ? " (admin)" : ""}
        </Menu.Label>
        <Menu.Item
          component={Link}
          href="/account"
          leftSection={<IconUserCircle size={14} aria-hidden />}
        >
          Account and tokens
        </Menu.Item>
        <Menu.Item
          leftSection={<IconLogout size={14} aria-hidden />}
          onClick={() => logout.mutate()}
          disabled={logout.isPending}
        >
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

/**
 * The signed-in dashboard: AppShell with header and sidebar. Renders its children only once
 * `auth.me` says who is signed in; sends everyone else to /login.
 */
export function AppFrame({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const [opened, { toggle, close }] = useDisclosure();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: 30_000 }));

  useEffect(() => {
    if (me.isSuccess && me.data === null) {
      const search = typeof window === "undefined" ? "" : window.location.search;
      router.replace(loginPathFor(`${pathname}${search}`));
    }
  }, [me.isSuccess, me.data, pathname, router]);

  const user = me.data;
  if (me.isPending || (me.isSuccess && !user)) {
    return (
      <Center h="100vh">
        <LoadingState label={me.isPending ? "Loading…" : "Redirecting to sign in…"} />
      </Center>
    );
  }
  if (me.isError || !user) {
    return (
      <Center h="100vh" p="md">
        <ErrorState
          title="Cannot reach berth-server"
          error={me.error}
          onRetry={() => void me.refetch()}
        />
      </Center>
    );
  }

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label="Toggle navigation"
            />
            <IconShip aria-hidden />
            <Anchor
              component={Link}
              href="/"
              c="inherit"
              underline="never"
              aria-label="Berth overview"
            >
              <Title order={3}>Berth</Title>
            </Anchor>
          </Group>
          <Group gap="sm">
            <TeamSwitcher me={user} />
            <UserMenu me={user} />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Main">
        {NAV.map(({ href, label, icon: Icon }) => (
          <NavLink
            key={href}
            component={Link}
            href={href}
            label={label}
            leftSection={<Icon size={18} aria-hidden />}
            active={isActive(pathname, href)}
            aria-current={isActive(pathname, href) ? "page" : undefined}
            onClick={close}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}

/** The signed-in user; only valid inside AppFrame. */
export function useMe(): Me | null {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: 30_000 }));
  return me.data ?? null;
}
