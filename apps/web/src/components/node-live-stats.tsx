"use client";
import { Card, Group, Progress, Stack, Table, Text, Title } from "@mantine/core";
import { useEffect, useRef, useState } from "react";
import { formatBytes, type ContainerStatsStreamSample } from "@berth/core";
import { errorMessage } from "@/lib/errors";
import { useTRPCClient } from "@/lib/trpc";
import { EmptyState } from "./query-state";

interface Row {
  id: string;
  name: string;
  cpuPercent: number | null;
  memoryBytes: number;
  memoryLimit: number | null;
  pids: number;
}

type Sample = ContainerStatsStreamSample["samples"][number];

/** CPU % of one CPU between two samples of the same container (docker's formula). */
function cpuPercent(prev: Sample | undefined, cur: Sample): number | null {
  if (!prev) return null;
  const dc = cur.stats.cpu.totalNs - prev.stats.cpu.totalNs;
  const ds = cur.stats.cpu.systemNs - prev.stats.cpu.systemNs;
  if (ds <= 0 || dc < 0) return null;
  return (dc / ds) * cur.stats.cpu.onlineCpus * 100;
}

/**
 * Live usage of a node's running containers (the caller's, as `containers.statsStream` scopes
 * them), about once a second, with totals against the node's capacity.
 */
export function NodeLiveStats({
  containerIds,
  capacity,
}: {
  containerIds: string[];
  capacity: { cpus: number | null; memoryBytes: number | null };
}) {
  const client = useTRPCClient();
  const [rows, setRows] = useState<Row[]>([]);
  const [error, setError] = useState<string | null>(null);
  const prev = useRef(new Map<string, Sample>());
  const key = containerIds.join(",");

  useEffect(() => {
    setRows([]);
    setError(null);
    prev.current.clear();
    if (key === "") return;
    const sub = client.containers.statsStream.subscribe(
      { refs: key.split(",") },
      {
        onData: (round) => {
          setRows(
            round.samples.map((s) => {
              const row: Row = {
                id: s.id,
                name: s.name,
                cpuPercent: cpuPercent(prev.current.get(s.id), s),
                memoryBytes: s.stats.memory.usageBytes,
                memoryLimit: s.stats.memory.limitBytes,
                pids: s.stats.pids.current,
              };
              prev.current.set(s.id, s);
              return row;
            }),
          );
        },
        onError: (err) => setError(errorMessage(err)),
        onConnectionStateChange: (state) => {
          if (state.state !== "connecting" || !state.error) return;
          setError(errorMessage(state.error));
          sub.unsubscribe();
        },
      },
    );
    return () => sub.unsubscribe();
  }, [client, key]);

  const totalCpu = rows.reduce((a, r) => a + (r.cpuPercent ?? 0), 0);
  const totalMem = rows.reduce((a, r) => a + r.memoryBytes, 0);
  return (
    <Card withBorder radius="md" component="section" aria-label="Live usage">
      <Stack>
        <Title order={2} size="h4">
          Live usage
        </Title>
        {error ? (
          <Text c="red" size="sm" role="alert">
            {error}
          </Text>
        ) : containerIds.length === 0 ? (
          <EmptyState title="Nothing running">No container of yours runs on this node.</EmptyState>
        ) : (
          <>
            <Group grow>
              <Stack gap={4}>
                <Text size="sm">
                  CPU {totalCpu.toFixed(1)} %
                  {capacity.cpus !== null ? ` of ${capacity.cpus * 100} %` : ""}
                </Text>
                {capacity.cpus !== null && (
                  <Progress
                    value={Math.min(100, totalCpu / capacity.cpus)}
                    aria-label="CPU used of the node's capacity"
                  />
                )}
              </Stack>
              <Stack gap={4}>
                <Text size="sm">
                  Memory {formatBytes(totalMem)}
                  {capacity.memoryBytes !== null ? ` of ${formatBytes(capacity.memoryBytes)}` : ""}
                </Text>
                {capacity.memoryBytes !== null && (
                  <Progress
                    value={Math.min(100, (totalMem / capacity.memoryBytes) * 100)}
                    aria-label="Memory used of the node's capacity"
                  />
                )}
              </Stack>
            </Group>
            <Table aria-label="Usage per container" verticalSpacing={4}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Container</Table.Th>
                  <Table.Th>CPU %</Table.Th>
                  <Table.Th>Memory</Table.Th>
                  <Table.Th>PIDs</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r) => (
                  <Table.Tr key={r.id} data-testid="node-stats-row">
                    <Table.Td>{r.name}</Table.Td>
                    <Table.Td>{r.cpuPercent === null ? "…" : r.cpuPercent.toFixed(1)}</Table.Td>
                    <Table.Td>
                      {formatBytes(r.memoryBytes)}
                      {r.memoryLimit !== null ? ` / ${formatBytes(r.memoryLimit)}` : ""}
                    </Table.Td>
                    <Table.Td>{r.pids}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </>
        )}
      </Stack>
    </Card>
  );
}
