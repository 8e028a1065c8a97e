"use client";
import { Anchor, Card, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { IconBox, IconServer2 } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import type { ReactNode } from "react";
import { QueryView } from "@/components/query-state";
import { useTRPC } from "@/lib/trpc";

function Stat({
  label,
  value,
  color,
  testId,
}: {
  label: string;
  value: number;
  color?: string;
  testId: string;
}) {
  return (
    <Stack gap={0}>
      <Text size="xl" fw={700} c={color} data-testid={testId}>
        {value}
      </Text>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
    </Stack>
  );
}

function SummaryCard({
  title,
  href,
  icon,
  children,
}: {
  title: string;
  href: string;
  icon: ReactNode;
  children: ReactNode;
}) {
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-label={title}>
      <Group justify="space-between" mb="md">
        <Group gap="xs">
          {icon}
          <Title order={3}>{title}</Title>
        </Group>
        <Anchor component={Link} href={href} size="sm">
          View all {title.toLowerCase()}
        </Anchor>
      </Group>
      {children}
    </Card>
  );
}

export default function OverviewPage() {
  const trpc = useTRPC();
  const nodes = useQuery(trpc.nodes.list.queryOptions(undefined, { refetchInterval: 5000 }));
  const containers = useQuery(
    trpc.containers.list.queryOptions({ all: true }, { refetchInterval: 5000 }),
  );

  return (
    <Stack>
      <Title order={1}>Overview</Title>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <SummaryCard title="Nodes" href="/nodes" icon={<IconServer2 aria-hidden />}>
          <QueryView
            query={nodes}
            what="nodes"
            empty={
              <Text c="dimmed">
                No nodes yet.{" "}
                <Anchor component={Link} href="/nodes">
                  Add one
                </Anchor>{" "}
                to start running containers.
              </Text>
            }
          >
            {(data) => (
              <Group gap="xl">
                <Stat
                  label="online"
                  value={data.filter((n) => n.status === "online").length}
                  color="green"
                  testId="nodes-online"
                />
                <Stat
                  label="offline"
                  value={data.filter((n) => n.status === "offline").length}
                  color="red"
                  testId="nodes-offline"
                />
                <Stat label="total" value={data.length} testId="nodes-total" />
              </Group>
            )}
          </QueryView>
        </SummaryCard>
        <SummaryCard title="Containers" href="/containers" icon={<IconBox aria-hidden />}>
          <QueryView
            query={containers}
            what="containers"
            empty={
              <Text c="dimmed">
                No containers yet.{" "}
                <Anchor component={Link} href="/containers">
                  Run one
                </Anchor>
                .
              </Text>
            }
          >
            {(data) => (
              <Group gap="xl">
                <Stat
                  label="running"
                  value={data.filter((c) => c.state === "running").length}
                  color="green"
                  testId="containers-running"
                />
                <Stat
                  label="exited"
                  value={data.filter((c) => c.state === "exited").length}
                  testId="containers-exited"
                />
                <Stat
                  label="other"
                  value={data.filter((c) => c.state !== "running" && c.state !== "exited").length}
                  testId="containers-other"
                />
                <Stat label="total" value={data.length} testId="containers-total" />
              </Group>
            )}
          </QueryView>
        </SummaryCard>
      </SimpleGrid>
    </Stack>
  );
}
