/** `inspect` output: the server's container view plus docker's `State` block. */
import type { ContainerNetwork } from "@berth/core";
import type { ContainerView } from "../api/views";

/** A container as `inspect` prints it: the server's view plus docker's `State` block. */
export type InspectView = ContainerView & {
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    ExitCode: number | null;
    Error: string;
    StartedAt: string | null;
    FinishedAt: string | null;
  };
  /** docker's NetworkSettings, when the node answered. */
  NetworkSettings?: {
    NetworkMode: string;
    IPAddress: string;
    IPPrefixLen: number;
    Gateway: string;
    MacAddress: string;
    Ports: Record<string, { HostIp: string; HostPort: string }[]>;
    Networks: Record<
      string,
      {
        NetworkID: string;
        IPAddress: string;
        IPPrefixLen: number;
        Gateway: string;
        MacAddress: string;
        Aliases: string[];
        Interface: string;
      }
    >;
  };
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** docker's NetworkSettings block from the agent's network facts. */
export function networkSettings(n: ContainerNetwork): NonNullable<InspectView["NetworkSettings"]> {
  const first = n.endpoints[0];
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of n.ports)
    (ports[`${p.containerPort}/${p.protocol}`] ??= []).push({
      HostIp: p.hostIp,
      HostPort: String(p.hostPort),
    });
  return {
    NetworkMode: n.mode,
    IPAddress: first?.ip ?? "",
    IPPrefixLen: first?.prefixLen ?? 0,
    Gateway: first?.gateway ?? "",
    MacAddress: first?.mac ?? "",
    Ports: ports,
    Networks: Object.fromEntries(
      n.endpoints.map((e) => [
        e.network,
        {
          NetworkID: e.networkId,
          IPAddress: e.ip,
          IPPrefixLen: e.prefixLen,
          Gateway: e.gateway,
          MacAddress: e.mac,
          Aliases: e.aliases,
          Interface: e.ifName,
        },
      ]),
    ),
  };
}

export function inspectView(v: ContainerView, network?: ContainerNetwork): InspectView {
  return {
    ...v,
    ...(network ? { NetworkSettings: networkSettings(network) } : {}),
    State: {
      Status: v.state,
      // docker: a paused container is also running (its processes exist, frozen)
      Running: v.state === "running" || v.state === "paused",
      Paused: v.state === "paused",
      Restarting: false,
      OOMKilled: v.oomKilled,
      Dead: v.state === "dead",
      ExitCode: v.exitCode,
      Error: v.error ?? "",
      StartedAt: iso(v.startedAt),
      FinishedAt: iso(v.finishedAt),
    },
  };
}
