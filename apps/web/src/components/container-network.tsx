"use client";
import { Card, Code, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { formatPorts } from "@berth/core";
import { useTRPC } from "@/lib/trpc";

/**
 * A container's network as its node reports it live (networks.containers): mode, each
 * interface's network, address, MAC and gateway, and the published ports.
 */
export function ContainerNetworkCard({ containerRef }: { containerRef: string }) {
  const trpc = useTRPC();
  const q = useQuery(
    trpc.networks.containers.queryOptions({ ref: containerRef }, { refetchInterval: 5000 }),
  );
  const n = q.data?.[0]?.network;
  return (
    <Card withBorder radius="md" component="section" aria-label="Network">
      <Stack gap="xs">
        <Title order={2} size="h4">
          Network
        </Title>
        {q.isError ? (
          <Text size="sm" c="dimmed">
            The node did not answer: {q.error.message}
          </Text>
        ) : !n ? (
          <Text size="sm" c="dimmed">
            {q.isPending ? "Asking the node…" : "No network facts (the node is offline)."}
          </Text>
        ) : (
          <>
            <Text size="sm">
              Mode <Code data-testid="network-mode">{n.mode}</Code>
              {" · "}Ports{" "}
              <Code data-testid="network-ports">
                {n.ports.length > 0 ? formatPorts(n.ports) : "none"}
              </Code>
            </Text>
            {n.endpoints.length > 0 && (
              <Table withTableBorder striped aria-label="Interfaces">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Interface</Table.Th>
                    <Table.Th>Network</Table.Th>
                    <Table.Th>IP address</Table.Th>
                    <Table.Th>MAC</Table.Th>
                    <Table.Th>Gateway</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {n.endpoints.map((e) => (
                    <Table.Tr key={e.networkId} data-testid="network-endpoint">
                      <Table.Td>{e.ifName}</Table.Td>
                      <Table.Td>{e.network}</Table.Td>
                      <Table.Td data-testid="network-ip">
                        {e.ip}/{e.prefixLen}
                      </Table.Td>
                      <Table.Td>{e.mac}</Table.Td>
                      <Table.Td>{e.gateway}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </>
        )}
      </Stack>
    </Card>
  );
}
