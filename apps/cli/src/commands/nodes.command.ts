/**
 * Fleet management: `berth node ls|inspect|cordon|uncordon|drain|rm|label|pool|rotate-credential`
 * (alias `nodes`), `berth pool create|ls|rm|grant|revoke` and
 * `berth join-token create|ls|revoke`.
 */
import { FleetJoinTokenInputSchema, formatBytes, parseLabelArgs, type Labels } from "@berth/core";
import { type Command } from "commander";
import type { FleetNodeView, JoinTokenView, PoolView } from "../api/fleet-views";
import { withApi, type CliContext } from "../context";
import { CliError, EXIT_FAILURE, UsageError } from "../errors";
import { ago, formatTable, humanDuration } from "../format/docker-format";
import { type GlobalFlags } from "./global-flags";

const cpus = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

export function labelsText(labels: Labels): string {
  const s = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return s === "" ? "-" : s;
}

export function nodeRows(nodes: FleetNodeView[], now: number): string[][] {
  return nodes.map((n) => {
    const capCpus = n.capacity.cpus ?? n.facts?.cpus ?? null;
    const capMem = n.capacity.memoryBytes ?? n.facts?.memoryBytes ?? null;
    return [
      n.name,
      n.status,
      n.cordoned ? "cordoned" : "active",
      n.poolName ?? "-",
      capCpus === null ? "-" : `${cpus(n.allocation.cpus)}/${capCpus}`,
      capMem === null ? "-" : `${formatBytes(n.allocation.memoryBytes)}/${formatBytes(capMem)}`,
      `${n.containers.running}/${n.containers.total}`,
      n.agentVersion ?? n.facts?.agentVersion ?? "-",
      labelsText(n.labels),
      n.status === "online" ? "now" : n.lastSeenAt === null ? "never" : ago(n.lastSeenAt, now),
    ];
  });
}

export const NODE_COLUMNS = [
  "NAME",
  "STATUS",
  "AVAILABILITY",
  "POOL",
  "CPUS",
  "MEMORY",
  "CONTAINERS",
  "AGENT",
  "LABELS",
  "LAST SEEN",
];

export function poolRows(pools: PoolView[]): string[][] {
  return pools.map((p) => [
    p.name,
    String(p.nodes),
    p.teams.length === 0 ? "-" : p.teams.map((t) => t.name).join(","),
  ]);
}

export function joinTokenRows(tokens: JoinTokenView[], now: number): string[][] {
  return tokens.map((t) => [
    t.id,
    t.status,
    `${t.uses}/${t.maxUses}`,
    t.poolName ?? "-",
    labelsText(t.labels),
    t.expiresAt > now ? `in ${humanDuration(t.expiresAt - now).toLowerCase()}` : "expired",
    ago(t.createdAt, now),
  ]);
}

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

function labelArgs(args: string[]): { set: Labels; remove: string[] } {
  try {
    return parseLabelArgs(args);
  } catch (e) {
    const msg =
      e instanceof Error && "issues" in e
        ? (e as { issues: { message: string }[] }).issues[0]!.message
        : (e as Error).message;
    throw new UsageError(`invalid label: ${msg}`);
  }
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerNodeCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const out = (v: unknown): void => void ctx.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  const nodes = program.command("node").alias("nodes").description("Manage the fleet's nodes");
  nodes
    .command("ls")
    .alias("list")
    .description("List nodes")
    .option("-q, --quiet", "only display node names")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean; quiet?: boolean }) => {
      const list = await withApi(ctx, globals(), {}, (api) => api.fleet.listNodes());
      if (flags.json) return out(list);
      if (flags.quiet) return void ctx.stdout.write(list.map((n) => `${n.name}\n`).join(""));
      ctx.stdout.write(`${formatTable(NODE_COLUMNS, nodeRows(list, ctx.now()))}\n`);
    });

  nodes
    .command("inspect")
    .description("Display a node's facts, capacity, allocation, labels and containers (JSON)")
    .argument("<node>", "node name or id")
    .action(async (ref: string) => {
      out(await withApi(ctx, globals(), {}, (api) => api.fleet.getNode(ref)));
    });

  for (const [verb, cordoned, text] of [
    ["cordon", true, "Mark a node unschedulable: no new containers go to it"],
    ["uncordon", false, "Mark a node schedulable again"],
  ] as const) {
    nodes
      .command(verb)
      .description(text)
      .argument("<node>", "node name or id")
      .action(async (ref: string) => {
        const r = await withApi(ctx, globals(), {}, (api) => api.fleet.cordon(ref, cordoned));
        ctx.stdout.write(`${r.name}\n`);
      });
  }

  nodes
    .command("drain")
    .description("Cordon a node and stop every container running on it")
    .argument("<node>", "node name or id")
    .option(
      "-t, --time <seconds>",
      "seconds to wait for each container to stop before killing it",
      "10",
    )
    .option("--json", "print JSON")
    .action(async (ref: string, flags: { time: string; json?: boolean }) => {
      const timeoutSeconds = Number(flags.time);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > 3600)
        throw new UsageError(
          `invalid --time ${JSON.stringify(flags.time)}: seconds from 0 to 3600`,
        );
      const r = await withApi(ctx, globals(), {}, (api) =>
        api.fleet.drain({ ref, timeoutSeconds }),
      );
      if (flags.json) return out(r);
      ctx.stdout.write(
        `${r.node} cordoned; ${r.stopped.length} container(s) stopped${r.stopped.length ? `: ${r.stopped.map((c) => c.name).join(", ")}` : ""}\n`,
      );
      for (const f of r.failed) ctx.stderr.write(`berth: could not stop ${f.name}: ${f.error}\n`);
      if (r.failed.length > 0)
        throw new CliError(`${r.failed.length} container(s) on ${r.node} are still running`, {
          hint: `run \`berth node drain ${r.node}\` again once the node is reachable`,
          exitCode: EXIT_FAILURE,
        });
    });

  nodes
    .command("rm")
    .alias("remove")
    .description("Remove a node and forget its containers (stop its agent first)")
    .argument("<node>", "node name or id")
    .option("-f, --force", "remove it even while its agent is connected")
    .action(async (ref: string, flags: { force?: boolean }) => {
      const r = await withApi(ctx, globals(), {}, (api) =>
        api.fleet.removeNode({ ref, force: flags.force ?? false }),
      );
      ctx.stdout.write(`${r.name}\n`);
    });

  nodes
    .command("label")
    .description("Add, change (key=value) or remove (key-) a node's labels")
    .argument("<node>", "node name or id")
    .argument("<labels...>", "key=value to set, key- to remove")
    .option("--json", "print JSON")
    .action(async (ref: string, args: string[], flags: { json?: boolean }) => {
      const { set, remove } = labelArgs(args);
      const labels = await withApi(ctx, globals(), {}, (api) =>
        api.fleet.setLabels({ ref, set, remove }),
      );
      if (flags.json) return out(labels);
      ctx.stdout.write(`${labelsText(labels)}\n`);
    });

  nodes
    .command("pool")
    .description("Move a node to a pool (or out of any with --none)")
    .argument("<node>", "node name or id")
    .argument("[pool]", "pool name or id")
    .option("--none", "take the node out of its pool")
    .action(async (ref: string, pool: string | undefined, flags: { none?: boolean }) => {
      if ((pool === undefined) === !flags.none)
        throw new UsageError("give either a pool or --none");
      const n = await withApi(ctx, globals(), {}, (api) =>
        api.fleet.setPool({ ref, pool: pool ?? null }),
      );
      ctx.stdout.write(`${n.name}\t${n.poolName ?? "-"}\n`);
    });

  nodes
    .command("rotate-credential")
    .description(
      "Give a node's agent a new credential; the old one is refused once it has stored it",
    )
    .argument("<node>", "node name or id (its agent must be connected)")
    .action(async (ref: string) => {
      const r = await withApi(ctx, globals(), {}, (api) => api.fleet.rotateCredential(ref));
      ctx.stdout.write(`${r.name}: credential rotated\n`);
    });

  registerPoolCommands(program, ctx, globals);
  registerJoinTokenCommands(program, ctx, globals);
}

function registerPoolCommands(program: Command, ctx: CliContext, globals: () => GlobalFlags) {
  const pool = program
    .command("pool")
    .description("Manage node pools and which teams may use them");
  pool
    .command("create")
    .description("Create a pool")
    .argument("<name>", "pool name")
    .action(async (name: string) => {
      const p = await withApi(ctx, globals(), {}, (api) => api.fleet.createPool(name));
      ctx.stdout.write(`${p.name}\n`);
    });
  pool
    .command("ls")
    .alias("list")
    .description("List pools, their node counts and the teams granted them")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const list = await withApi(ctx, globals(), {}, (api) => api.fleet.listPools());
      if (flags.json) return void ctx.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      ctx.stdout.write(`${formatTable(["NAME", "NODES", "TEAMS"], poolRows(list))}\n`);
    });
  pool
    .command("rm")
    .alias("remove")
    .description("Remove a pool (its nodes are left in no pool)")
    .argument("<pool>", "pool name or id")
    .action(async (ref: string) => {
      const r = await withApi(ctx, globals(), {}, (api) => api.fleet.removePool(ref));
      ctx.stdout.write(`${r.name}\n`);
    });
  for (const [verb, text] of [
    ["grant", "Let a team place containers on the pool's nodes"],
    ["revoke", "Stop a team placing new containers on the pool's nodes"],
  ] as const) {
    pool
      .command(verb)
      .description(text)
      .argument("<pool>", "pool name or id")
      .argument("<team>", "team name or id")
      .action(async (ref: string, team: string) => {
        const p = await withApi(ctx, globals(), {}, (api) =>
          verb === "grant" ? api.fleet.grantPool(ref, team) : api.fleet.revokePool(ref, team),
        );
        ctx.stdout.write(
          `${p.name}: ${p.teams.length === 0 ? "no team" : p.teams.map((t) => t.name).join(", ")}\n`,
        );
      });
  }
}

function registerJoinTokenCommands(program: Command, ctx: CliContext, globals: () => GlobalFlags) {
  const joinToken = program.command("join-token").description("Manage join tokens for new nodes");
  joinToken
    .command("create")
    .description("Create a token for berth-agent to join this server")
    .option("--ttl, --expires <duration>", "time until the token expires (e.g. 30m, 1h, 7d)", "1h")
    .option("--uses <n>", "how many nodes may join with it", "1")
    .option("--pool <pool>", "the pool the joining nodes go to")
    .option("--label <key=value>", "a label the joining nodes get (repeatable)", collect, [])
    .option("--json", "print JSON")
    .action(
      async (flags: {
        expires: string;
        uses: string;
        pool?: string;
        label: string[];
        json?: boolean;
      }) => {
        const ttl = FleetJoinTokenInputSchema.shape.ttlSeconds.safeParse(parseTtl(flags.expires));
        if (!ttl.success) {
          throw new UsageError(
            `invalid --ttl ${JSON.stringify(flags.expires)}: it must be between 1m and 7d`,
          );
        }
        const uses = Number(flags.uses);
        if (!Number.isInteger(uses) || uses < 1 || uses > 100_000)
          throw new UsageError(`invalid --uses ${JSON.stringify(flags.uses)}: 1 to 100000`);
        const { set: labels, remove } = labelArgs(flags.label);
        if (remove.length > 0) throw new UsageError("--label takes key=value");
        const input = {
          ttlSeconds: ttl.data,
          ...(uses !== 1 ? { maxUses: uses } : {}),
          ...(flags.pool !== undefined ? { pool: flags.pool } : {}),
          ...(Object.keys(labels).length > 0 ? { labels } : {}),
        };
        const created = await withApi(ctx, globals(), {}, (api) =>
          api.fleet.createJoinToken(input),
        );
        if (flags.json) {
          ctx.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
          return;
        }
        const expires = new Date(created.expiresAt).toISOString();
        ctx.stdout.write(
          `Join token (${uses === 1 ? "single use" : `${uses} uses`}, expires in ${humanDuration(created.expiresAt - ctx.now() + 999).toLowerCase()}, at ${expires}):\n\n` +
            `    ${created.token}\n\n` +
            `To add a node, run this on it (as root):\n\n` +
            `    ${created.command}\n\n`,
        );
      },
    );
  joinToken
    .command("ls")
    .alias("list")
    .description("List join tokens")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const list = await withApi(ctx, globals(), {}, (api) => api.fleet.listJoinTokens());
      if (flags.json) return void ctx.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      ctx.stdout.write(
        `${formatTable(["ID", "STATUS", "USES", "POOL", "LABELS", "EXPIRES", "CREATED"], joinTokenRows(list, ctx.now()))}\n`,
      );
    });
  joinToken
    .command("revoke")
    .description("Revoke a join token: no more nodes join with it")
    .argument("<id>", "token id (or its first characters)")
    .action(async (id: string) => {
      const t = await withApi(ctx, globals(), {}, (api) => api.fleet.revokeJoinToken(id));
      ctx.stdout.write(`${t.id}\n`);
    });
}
