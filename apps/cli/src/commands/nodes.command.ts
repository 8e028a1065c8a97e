/** `berth nodes ls` (alias `node ls`) and `berth join-token create`. */
import { CreateJoinTokenInputSchema, formatBytes } from "@berth/core";
import { type Command } from "commander";
import type { NodeView } from "../api/views";
import { withApi, type CliContext } from "../context";
import { UsageError } from "../errors";
import { ago, formatTable, humanDuration } from "../format/docker-format";
import { type GlobalFlags } from "./global-flags";

export function nodeRows(nodes: NodeView[], now: number): string[][] {
  return nodes.map((n) => {
    const f = n.facts;
    return [
      n.name,
      n.status,
      f?.hostname ?? "-",
      f?.kernel ?? "-",
      f ? `v${f.cgroup.version} (${f.cgroup.mode})` : "-",
      f ? `${f.runtime.name} ${f.runtime.version}` : "-",
      f ? String(f.cpus) : "-",
      f ? formatBytes(f.memoryBytes) : "-",
      `${n.containers.running}/${n.containers.total}`,
      n.lastSeenAt === null ? "never" : ago(n.lastSeenAt, now),
    ];
  });
}

export const NODE_COLUMNS = [
  "NAME",
  "STATUS",
  "HOSTNAME",
  "KERNEL",
  "CGROUP",
  "RUNTIME",
  "CPUS",
  "MEMORY",
  "CONTAINERS",
  "LAST SEEN",
];

/** `1h`, `30m`, `90s`, `2d`, `1h30m` or plain seconds → seconds. */
export function parseTtl(input: string): number {
  const s = input.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const re = /(\d+)([smhd])/g;
  if (!/^(\d+[smhd])+$/.test(s))
    throw new UsageError(`invalid --ttl ${JSON.stringify(input)}: use e.g. 90s, 30m, 1h, 2d`);
  const mult: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const m of s.matchAll(re)) total += Number(m[1]) * mult[m[2]!]!;
  return total;
}

export function registerNodeCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const nodes = program.command("nodes").alias("node").description("Manage the fleet's nodes");
  nodes
    .command("ls")
    .alias("list")
    .description("List nodes")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const list = await withApi(ctx, globals(), {}, (api) => api.listNodes());
      if (flags.json) {
        ctx.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      ctx.stdout.write(`${formatTable(NODE_COLUMNS, nodeRows(list, ctx.now()))}\n`);
    });

  const joinToken = program.command("join-token").description("Manage join tokens for new nodes");
  joinToken
    .command("create")
    .description("Create a one-time token for berth-agent to join this server")
    .option("--ttl <duration>", "time until the token expires (e.g. 30m, 1h, 7d)", "1h")
    .option("--json", "print JSON")
    .action(async (flags: { ttl: string; json?: boolean }) => {
      const ttl = CreateJoinTokenInputSchema.shape.ttlSeconds.safeParse(parseTtl(flags.ttl));
      if (!ttl.success) {
        throw new UsageError(
          `invalid --ttl ${JSON.stringify(flags.ttl)}: it must be between 1m and 7d`,
        );
      }
      const ttlSeconds = ttl.data;
      const created = await withApi(ctx, globals(), {}, (api) =>
        api.createJoinToken({ ttlSeconds }),
      );
      if (flags.json) {
        ctx.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        return;
      }
      const expires = new Date(created.expiresAt).toISOString();
      ctx.stdout.write(
        `Join token (expires in ${humanDuration(created.expiresAt - ctx.now() + 999).toLowerCase()}, at ${expires}):\n\n` +
          `    ${created.token}\n\n` +
          `To add a node, run this on it (as root):\n\n` +
          `    ${created.command}\n\n`,
      );
    });
}
