/**
 * `berth stats` streaming (docker's default): the server's `containers.statsStream` sends a round
 * of samples about every second; each round redraws the table (clear screen, cursor home, as
 * docker does) with CPU % from the previous sample of the same container — 0.00% on its first.
 * `--format json` prints one JSON object per container per round instead (docker's keys).
 */
import type { ContainerStats, ContainerStatsStreamSample } from "@berth/core";
import type { BerthApi } from "../api/berth-api";
import type { CliContext } from "../context";
import { formatTable } from "../format/docker-format";
import { STATS_COLUMNS, statsRow } from "./update-stats.command";

/** docker's "clear screen, cursor home" before each redraw. */
export const CLEAR_SCREEN = "\u001b[2J\u001b[H";

/** A stats row as docker's `--format json` object. */
export function statsRowJson(row: string[]): string {
  const [id, name, cpu, memUsage, memPerc, netIo, blockIo, pids] = row;
  return JSON.stringify({
    BlockIO: blockIo,
    CPUPerc: cpu,
    Container: id,
    ID: id,
    MemPerc: memPerc,
    MemUsage: memUsage,
    Name: name,
    NetIO: netIo,
    PIDs: pids,
  });
}

/** Keeps the previous sample of each container to compute CPU % from consecutive samples. */
export class StatsRenderer {
  private previous = new Map<string, ContainerStats>();

  constructor(
    private readonly memoryOf: (id: string) => number | null,
    private readonly noTrunc: boolean,
  ) {}

  /** The rows of one round; remembers its samples for the next. */
  rows(round: ContainerStatsStreamSample): string[][] {
    const next = new Map<string, ContainerStats>();
    const rows = round.samples.map(({ id, stats }) => {
      next.set(id, stats);
      return statsRow(this.previous.get(id) ?? stats, stats, this.memoryOf(id), this.noTrunc);
    });
    this.previous = next;
    return rows;
  }

  /** One redraw of the table (an empty table when nothing runs, as docker shows). */
  frame(round: ContainerStatsStreamSample): string {
    return `${CLEAR_SCREEN}${formatTable(STATS_COLUMNS, this.rows(round))}\n`;
  }

  /** One JSON line per container of the round. */
  jsonLines(round: ContainerStatsStreamSample): string {
    return this.rows(round)
      .map((r) => `${statsRowJson(r)}\n`)
      .join("");
  }
}

/** Streams until Ctrl-C (or the server ends the stream). */
export async function streamStats(
  ctx: CliContext,
  api: BerthApi,
  refs: string[],
  opts: { noTrunc: boolean; json: boolean },
): Promise<void> {
  const [list, nodes] = await Promise.all([api.listContainers({ all: true }), api.listNodes()]);
  const nodeMemory = new Map(nodes.map((n) => [n.id, n.facts?.memoryBytes ?? null]));
  const nodeOf = new Map(list.map((c) => [c.id, c.nodeId]));
  const renderer = new StatsRenderer(
    (id) => nodeMemory.get(nodeOf.get(id) ?? "") ?? null,
    opts.noTrunc,
  );
  const stop = new AbortController();
  const offInterrupt = ctx.onInterrupt?.(() => stop.abort());
  try {
    await api.streamContainerStats(
      refs,
      (round) => ctx.stdout.write(opts.json ? renderer.jsonLines(round) : renderer.frame(round)),
      stop.signal,
    );
  } finally {
    offInterrupt?.();
  }
}
