/**
 * `berth run|create` network flags, as docker spells them: `-p/--publish
 * [hostIP:][hostPort:]containerPort[/tcp|udp]` (repeatable), `-P/--publish-all`,
 * `--network/--net MODE` (bridge, none, host, container:<name|id>, or a network's name),
 * `--network-alias NAME`, `--dns IP` and `--add-host NAME:IP` (repeatable). The schemas check
 * the values; the agent parses `-p` (ranges, conflicts).
 */
import type { ContainerSpecInput } from "@berth/core";
import type { Command } from "commander";
import { UsageError } from "../errors";

export interface NetworkFlags {
  publish?: string[];
  publishAll?: boolean;
  network?: string;
  net?: string;
  networkAlias?: string[];
  dns?: string[];
  addHost?: string[];
}

export const NETWORK_FLAG_OF: Record<string, string> = {
  "spec.ports": "-p, --publish",
  "spec.network": "--network",
  "spec.networkAliases": "--network-alias",
  "spec.dns": "--dns",
  "spec.addHosts": "--add-host",
};

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function defineNetworkOptions(cmd: Command): Command {
  return cmd
    .option(
      "-p, --publish <[ip:][hostPort:]port[/proto]>",
      "publish a container's port to the host, e.g. 8080:80 or 127.0.0.1:53:53/udp (repeatable)",
      collect,
    )
    .option("-P, --publish-all", "publish every EXPOSEd port to a random host port")
    .option(
      "--network <mode>",
      "connect to a network: bridge (default), none, host (administrators), container:<name|id>, or a network's name",
    )
    .option("--net <mode>", "same as --network")
    .option("--network-alias <name>", "another DNS name on the network (repeatable)", collect)
    .option("--dns <ip>", "custom DNS server (repeatable)", collect)
    .option("--add-host <host:ip>", "add a line to /etc/hosts (repeatable)", collect);
}

type SpecPart = Pick<
  ContainerSpecInput,
  "ports" | "publishAll" | "network" | "networkAliases" | "dns" | "addHosts"
>;

/** Parses `--add-host NAME:IP` (docker also takes `NAME=IP`). */
export function parseAddHost(v: string): { host: string; ip: string } {
  const i = v.search(/[:=]/);
  if (i <= 0 || i === v.length - 1)
    throw new UsageError(
      `invalid argument ${JSON.stringify(v)} for "--add-host" flag: expected HOST:IP`,
      "e.g. --add-host db.local:10.0.0.5",
    );
  return { host: v.slice(0, i), ip: v.slice(i + 1) };
}

export function parseNetworkFlags(flags: NetworkFlags): SpecPart {
  if (flags.network !== undefined && flags.net !== undefined && flags.network !== flags.net)
    throw new UsageError("--network and --net name different networks", "give one of them");
  const network = flags.network ?? flags.net;
  const out: SpecPart = {};
  if (network !== undefined) out.network = network;
  if (flags.publish?.length) out.ports = flags.publish;
  if (flags.publishAll) out.publishAll = true;
  if (flags.networkAlias?.length) out.networkAliases = flags.networkAlias;
  if (flags.dns?.length) out.dns = flags.dns;
  if (flags.addHost?.length) out.addHosts = flags.addHost.map(parseAddHost);
  return out;
}
