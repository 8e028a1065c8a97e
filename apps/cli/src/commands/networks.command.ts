/**
 * `berth network create|ls|inspect|rm|connect|disconnect`: the nodes' bridge networks, docker's
 * way. A network lives on one node and belongs to the team that created it (the server hides
 * other teams' networks); `bridge` is every node's default network.
 */
import { type Command } from "commander";
import type { NetworkView } from "../api/network-views";
import { withApi, type CliContext } from "../context";
import { formatTable } from "../format/docker-format";
import { CliError, EXIT_FAILURE, UsageError, toCliError } from "../errors";
import { inspectEach } from "./each-ref";
import { type GlobalFlags, withTeamFlag } from "./global-flags";

export const NETWORK_COLUMNS = ["NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET", "NODE"];

export function networkRows(networks: NetworkView[], noTrunc = false): string[][] {
  return networks.map((n) => [
    noTrunc ? n.id : n.id.slice(0, 12),
    n.name,
    "bridge",
    "local",
    n.subnet,
    n.nodeName,
  ]);
}

/** docker network inspect's shape, plus the node. */
export function networkInspectView(n: NetworkView): Record<string, unknown> {
  return {
    Name: n.name,
    Id: n.id,
    Created: new Date(n.createdAt).toISOString(),
    Scope: "local",
    Driver: "bridge",
    EnableIPv6: false,
    IPAM: { Driver: "default", Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Containers: Object.fromEntries(
      n.containers.map((c) => [c.containerId, { MacAddress: c.mac, IPv4Address: c.ip }]),
    ),
    Options: {
      "com.docker.network.bridge.name": n.bridge,
      "com.docker.network.bridge.enable_icc": String(n.icc),
      "com.docker.network.bridge.enable_ip_masquerade": String(n.masquerade),
    },
    Labels: {},
    Team: n.teamId,
    Node: n.nodeName,
  };
}

interface CreateFlags {
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  icc?: string;
  masquerade?: boolean;
  node?: string;
}

function parseBool(v: string, flag: string): boolean {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new UsageError(`invalid argument ${JSON.stringify(v)} for "${flag}" flag: true or false`);
}

/** Runs `action` per ref like docker: prints the ref on success, one line per failure, exit 1. */
async function each(
  ctx: CliContext,
  refs: string[],
  api: { server: string; hasToken: boolean },
  action: (ref: string) => Promise<unknown>,
): Promise<void> {
  let failed = 0;
  for (const ref of refs) {
    try {
      await action(ref);
      ctx.stdout.write(`${ref}\n`);
    } catch (e) {
      failed++;
      const err = toCliError(e, { server: api.server, hasToken: api.hasToken });
      if (err.hint) throw err;
      ctx.stderr.write(`berth: ${ref}: ${err.message}\n`);
    }
  }
  if (failed > 0)
    throw new CliError(`${failed} of ${refs.length} failed`, { exitCode: EXIT_FAILURE });
}

export function registerNetworkCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const network = program.command("network").description("Manage networks on the nodes");

  network
    .command("create")
    .description("Create a bridge network for your team (on --node, or the only online node)")
    .argument("<name>", "network name")
    .option("--subnet <cidr>", "subnet, e.g. 10.10.0.0/24 (default: the first free in the pool)")
    .option("--gateway <ip>", "gateway address (default: the subnet's first address)")
    .option("--internal", "no traffic in or out of the network")
    .option("--icc <bool>", "inter-container traffic on the network (default true)")
    .option("--no-masquerade", "no outbound NAT for the network's containers")
    .option("--node <node>", "the node to create it on (id or name)")
    .option("--team <team>", "the team that owns it (default: your default team)")
    .action(async (name: string, flags: CreateFlags & { team?: string }) => {
      const n = await withApi(ctx, withTeamFlag(globals(), flags), {}, (api) =>
        api.createNetwork({
          name,
          ...(flags.subnet !== undefined ? { subnet: flags.subnet } : {}),
          ...(flags.gateway !== undefined ? { gateway: flags.gateway } : {}),
          ...(flags.internal ? { internal: true } : {}),
          ...(flags.icc !== undefined ? { icc: parseBool(flags.icc, "--icc") } : {}),
          ...(flags.masquerade === false ? { masquerade: false } : {}),
          ...(flags.node !== undefined ? { node: flags.node } : {}),
        }),
      );
      ctx.stdout.write(`${n.id}\n`);
    });

  network
    .command("ls")
    .alias("list")
    .description("List your team's networks (and the default bridge) on the online nodes")
    .option("--node <node>", "only this node (id or name)")
    .option("-q, --quiet", "only display network IDs")
    .option("--no-trunc", "do not truncate the output")
    .option("--json", "print JSON")
    .action(async (flags: { node?: string; quiet?: boolean; trunc?: boolean; json?: boolean }) => {
      const nets = await withApi(ctx, globals(), {}, (api) =>
        api.listNetworks(flags.node ? { node: flags.node } : {}),
      );
      const noTrunc = flags.trunc === false;
      if (flags.json) ctx.stdout.write(`${JSON.stringify(nets, null, 2)}\n`);
      else if (flags.quiet)
        ctx.stdout.write(nets.map((n) => `${noTrunc ? n.id : n.id.slice(0, 12)}\n`).join(""));
      else ctx.stdout.write(`${formatTable(NETWORK_COLUMNS, networkRows(nets, noTrunc))}\n`);
    });

  network
    .command("inspect")
    .description("Display detailed information on one or more networks (JSON)")
    .argument("<refs...>", "network names or ids")
    .option("--node <node>", "the node that holds them (id or name)")
    .action(async (refs: string[], flags: { node?: string }) => {
      await withApi(ctx, globals(), {}, (api) =>
        inspectEach(ctx, api, refs, "networks", async (ref) =>
          networkInspectView(await api.inspectNetwork({ ref, node: flags.node })),
        ),
      );
    });

  network
    .command("rm")
    .alias("remove")
    .description("Remove one or more networks (refused while containers are connected)")
    .argument("<refs...>", "network names or ids")
    .option("--node <node>", "the node that holds them (id or name)")
    .action(async (refs: string[], flags: { node?: string }) => {
      await withApi(ctx, globals(), {}, (api) =>
        each(ctx, refs, api, (ref) => api.removeNetwork({ ref, node: flags.node })),
      );
    });

  network
    .command("connect")
    .description("Connect a running container to a network")
    .argument("<network>", "network name or id")
    .argument("<container>", "container name or id")
    .option(
      "--alias <name>",
      "another DNS name on the network (repeatable)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option("--ip <address>", "IPv4 address on the network")
    .action(async (ref: string, container: string, flags: { alias?: string[]; ip?: string }) => {
      await withApi(ctx, globals(), {}, (api) =>
        api.connectNetwork({
          ref,
          container,
          ...(flags.alias ? { aliases: flags.alias } : {}),
          ...(flags.ip ? { ip: flags.ip } : {}),
        }),
      );
    });

  network
    .command("disconnect")
    .description("Disconnect a container from a network")
    .argument("<network>", "network name or id")
    .argument("<container>", "container name or id")
    .action(async (ref: string, container: string) => {
      await withApi(ctx, globals(), {}, (api) => api.disconnectNetwork({ ref, container }));
    });
}
