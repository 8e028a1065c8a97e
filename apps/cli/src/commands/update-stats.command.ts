/**
 * `berth update` (change a running container's limits) and `berth stats --no-stream` (one
 * table of usage, docker's columns). CPU % needs two samples: like docker, each container is
 * sampled twice 500 ms apart and CPU % = Δcontainer CPU / Δhost CPU × online CPUs × 100.
 */
import type { ContainerStats } from "@berth/core";
import { type Command } from "commander";
import type { BerthApi } from "../api/berth-api";
import { withApi, type CliContext } from "../context";
import { CliError, EXIT_FAILURE, UsageError, toCliError } from "../errors";
import { formatTable, humanSize } from "../format/docker-format";
import { type GlobalFlags } from "./global-flags";
import { parseLimitFlags, type LimitFlags } from "./limit-flags";
import { statsRowJson, streamStats } from "./stats-stream";

export const STATS_COLUMNS = [
  "CONTAINER ID",
  "NAME",
  "CPU %",
  "MEM USAGE / LIMIT",
  "MEM %",
  "NET I/O",
  "BLOCK I/O",
  "PIDS",
];

/** Time between the two samples of `stats --no-stream` (docker's). */
export const STATS_SAMPLE_GAP_MS = 500;

/** go-units BytesSize: binary units, 4 significant digits ("1.465MiB"). */
export function binarySize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** Docker's CPU %: container CPU time over host CPU time between two samples, × online CPUs. */
export function cpuPercent(a: ContainerStats, b: ContainerStats): number {
  const cpu = b.cpu.totalNs - a.cpu.totalNs;
  const system = b.cpu.systemNs - a.cpu.systemNs;
  if (cpu <= 0 || system <= 0) return 0;
  return (cpu / system) * b.cpu.onlineCpus * 100;
}

/**
 * One row in docker's columns. Memory usage excludes the page cache (as docker did on v1);
 * an unlimited container's limit is its node's memory. NET I/O is received / sent bytes over the
 * container's interfaces; "--" when the agent has none to report (no networking, host mode).
 */
export function statsRow(
  a: ContainerStats,
  b: ContainerStats,
  nodeMemoryBytes: number | null,
  noTrunc = false,
): string[] {
  const used = Math.max(0, b.memory.usageBytes - b.memory.cacheBytes);
  const limit = b.memory.limitBytes ?? nodeMemoryBytes;
  return [
    noTrunc ? b.id : b.id.slice(0, 12),
    b.name,
    `${cpuPercent(a, b).toFixed(2)}%`,
    `${binarySize(used)} / ${limit === null ? "--" : binarySize(limit)}`,
    limit ? `${((used / limit) * 100).toFixed(2)}%` : "--",
    b.net ? `${humanSize(b.net.rxBytes)} / ${humanSize(b.net.txBytes)}` : "--",
    `${humanSize(b.blkio.readBytes)} / ${humanSize(b.blkio.writeBytes)}`,
    String(b.pids.current),
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function statsTable(
  ctx: CliContext,
  api: BerthApi,
  refs: string[],
  noTrunc: boolean,
  json = false,
): Promise<void> {
  const targets =
    refs.length > 0
      ? await Promise.all(refs.map((r) => api.getContainer(r)))
      : (await api.listContainers({ all: false })).filter((c) => c.state === "running");
  const nodes = await api.listNodes();
  const memOf = new Map(nodes.map((n) => [n.id, n.facts?.memoryBytes ?? null]));
  const first = await Promise.all(targets.map((c) => api.containerStats(c.id)));
  await sleep(STATS_SAMPLE_GAP_MS);
  const second = await Promise.all(targets.map((c) => api.containerStats(c.id)));
  const rows = targets.map((c, i) =>
    statsRow(first[i]!, second[i]!, memOf.get(c.nodeId) ?? null, noTrunc),
  );
  if (json) ctx.stdout.write(rows.map((r) => `${statsRowJson(r)}\n`).join(""));
  else ctx.stdout.write(`${formatTable(STATS_COLUMNS, rows)}\n`);
}

export function registerUpdateStatsCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("update")
    .description("Update the resource limits of one or more running containers")
    .usage("[OPTIONS] CONTAINER [CONTAINER...]")
    .argument("<containers...>", "container ids, id prefixes or names")
    .option("-m, --memory <bytes>", "memory limit (e.g. 64m, 1g)")
    .option("--memory-reservation <bytes>", "memory soft limit")
    .option("--memory-swap <bytes>", "memory + swap limit; -1 for unlimited swap")
    .option("--cpus <n>", "number of CPUs (e.g. 0.5)")
    .option("-c, --cpu-shares <n>", "CPU shares (relative weight)")
    .option("--cpuset-cpus <list>", "CPUs in which to allow execution (0-3, 0,1)")
    .option("--cpuset-mems <list>", "memory nodes in which to allow execution")
    .option("--blkio-weight <n>", "block IO weight, 10 to 1000")
    .option("--pids-limit <n>", "pids limit")
    .action(async (refs: string[], flags: LimitFlags) => {
      const limits = parseLimitFlags(flags, "update");
      if (Object.keys(limits).length === 0)
        throw new UsageError(
          "you must provide one or more flags when using this command",
          "see `berth update --help`",
        );
      await withApi(ctx, globals(), {}, async (api) => {
        let failed = 0;
        for (const ref of refs) {
          try {
            await api.updateContainer({ ref, limits });
            ctx.stdout.write(`${ref}\n`);
          } catch (e) {
            const err = toCliError(e, { server: api.server, hasToken: api.hasToken });
            if (err.hint) throw err;
            failed++;
            ctx.stderr.write(`berth: ${ref}: ${err.message}\n`);
          }
        }
        if (failed > 0)
          throw new CliError(`${failed} of ${refs.length} failed`, { exitCode: EXIT_FAILURE });
      });
    });

  program
    .command("stats")
    .description("Display a live stream of containers' resource usage (running ones by default)")
    .usage("[OPTIONS] [CONTAINER...]")
    .argument("[containers...]", "container ids, id prefixes or names")
    .option("--no-stream", "print one snapshot and exit (default: redraw every second)")
    .option("--no-trunc", "do not truncate the container ID")
    .option("--format <format>", "table (default) or json: one JSON object per line")
    .action(async (refs: string[], flags: { stream: boolean; trunc: boolean; format?: string }) => {
      const format = flags.format ?? "table";
      if (format !== "table" && format !== "json")
        throw new UsageError(`unsupported --format "${format}"`, "use table or json");
      const json = format === "json";
      await withApi(ctx, globals(), {}, (api) =>
        flags.stream
          ? streamStats(ctx, api, refs, { noTrunc: !flags.trunc, json })
          : statsTable(ctx, api, refs, !flags.trunc, json),
      );
    });
}
