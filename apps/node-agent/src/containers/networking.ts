/**
 * ContainerNetworking: the container service's side of the network library (../network/).
 * It owns the NetworkManager, one DNS responder per network (on the gateway, port 53), and
 * turns a spec's `network`, `ports`, `publishAll`, `dns`, `addHosts` and `networkAliases` into
 * a pre-created network namespace, a veth/address/route, DNAT rules and the container's
 * /etc/resolv.conf and /etc/hosts (written to the container's dir, bind-mounted read-only).
 *
 * Lifecycle (container-service.ts drives it):
 *   prepare(...)   at run/create, in parallel with the overlay mount (netns, attach, files)
 *   publish(...)   after the runtime container exists, and again at every (re)start
 *   unpublish(id)  when the process exits (ports are gone while stopped, as with Docker)
 *   release(id)    at removal, after a failed run, and for leftovers at agent start
 * The namespace and its address live as long as the container, not its process: a stopped
 * container keeps its address, a restart rejoins the same netns (one less veth per restart).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  DomainError,
  conflict,
  invalidInput,
  notFound,
  type ContainerNetwork,
  type ContainerSpec,
  type Network,
} from "@berth/core";
import { cleanupAll } from "../network/cleanup";
import {
  DnsResponder,
  renderHosts,
  renderResolvConf,
  upstreamsFromResolvConf,
} from "../network/dns";
import {
  DEFAULT_NETWORK_NAME,
  NetworkManager,
  type InterfaceCounters,
  type NetworkCreateInput,
} from "../network/network-manager";
import type { NetworkRecord } from "../network/network-store";
import { createNetns, deleteNetns, isNetnsMount } from "../network/netns";
import { parsePublish, type PortRequest } from "../network/ports";
import type { OciMount, SpecOpt } from "../runtime/spec/oci-spec";

export interface ContainerNetworkingOptions {
  stateDir: string;
  /** Interface/chain prefix (network/names.ts): `berth` for a real agent, another in tests. */
  prefix: string;
  /** Subnet of the default `bridge` network (default 172.30.0.0/16, or the pool's first free). */
  defaultSubnet?: string;
  /** Start DNS responders (default true). */
  dns?: boolean;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** What prepare() made for one container. */
export interface PreparedNetwork {
  mode: string;
  /** The netns the OCI spec joins; null = the host's (`--network host`). */
  netnsPath: string | null;
  /** Whether the netns is this container's own (released with it). */
  ownsNetns: boolean;
  resolvConf: string;
  hosts: string;
}

/** `--network` without a value: the default bridge. */
export function networkModeOf(spec: Pick<ContainerSpec, "network">): string {
  return spec.network ?? DEFAULT_NETWORK_NAME;
}

/** Port requests of a spec: `-p` values, then (`-P`) the image's EXPOSEd ports on random host ports. */
export function portRequestsOf(
  spec: Pick<ContainerSpec, "ports" | "publishAll">,
  exposed: Record<string, unknown> | null | undefined,
): PortRequest[] {
  const out = (spec.ports ?? []).flatMap((p) => parsePublish(p));
  if (spec.publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(key);
      if (!m) continue;
      const containerPort = Number(m[1]);
      const protocol = (m[2]?.toLowerCase() ?? "tcp") as "tcp" | "udp";
      if (out.some((r) => r.containerPort === containerPort && r.protocol === protocol)) continue;
      out.push({ hostIp: "0.0.0.0", hostPort: null, containerPort, protocol });
    }
  }
  return out;
}

export class ContainerNetworking {
  private readonly responders = new Map<string, DnsResponder>();
  private readonly log: NonNullable<ContainerNetworkingOptions["log"]>;

  private constructor(
    readonly manager: NetworkManager,
    private readonly opts: ContainerNetworkingOptions,
  ) {
    this.log = opts.log ?? (() => undefined);
  }

  static async open(opts: ContainerNetworkingOptions): Promise<ContainerNetworking> {
    const manager = await NetworkManager.open({
      stateDir: opts.stateDir,
      prefix: opts.prefix,
      ...(opts.defaultSubnet !== undefined ? { defaultSubnet: opts.defaultSubnet } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    const n = new ContainerNetworking(manager, opts);
    for (const net of manager.list()) await n.startDns(net);
    return n;
  }

  private async startDns(net: NetworkRecord): Promise<void> {
    if (this.opts.dns === false || this.responders.has(net.id)) return;
    const upstreams = upstreamsFromResolvConf(
      await readFile("/etc/resolv.conf", "utf8").catch(() => ""),
    );
    try {
      const r = await DnsResponder.listen(net.gateway, 53, {
        // Docker's rule: names resolve on user-defined networks, not on the default bridge.
        lookup: (name, from) => (net.isDefault ? [] : this.lookup(net.id, name, from)),
        allowFrom: net.subnet,
        upstreams,
      });
      this.responders.set(net.id, r);
    } catch (e) {
      this.log("cannot start the DNS responder of a network", {
        network: net.name,
        gateway: net.gateway,
        error: (e as Error).message,
      });
    }
  }

  /**
   * A name as the asker sees it (Docker's embedded DNS): peers on this network first, then on
   * the asker's other user-defined networks. Never names of a network the asker is not on.
   */
  private lookup(networkId: string, name: string, from: string | undefined): string[] {
    const here = this.manager.lookup(networkId, name);
    if (here.length > 0 || from === undefined) return here;
    const asker = this.manager.store.allocations({ networkId }).find((a) => a.ip === from);
    if (!asker) return [];
    for (const a of this.manager.store.allocations({ containerId: asker.containerId })) {
      if (a.networkId === networkId || this.manager.get(a.networkId).isDefault) continue;
      const ips = this.manager.lookup(a.networkId, name);
      if (ips.length > 0) return ips;
    }
    return [];
  }

  private async stopDns(networkId: string): Promise<void> {
    const r = this.responders.get(networkId);
    this.responders.delete(networkId);
    await r?.close();
  }

  // ------------------------------------------------------------ networks

  async createNetwork(input: NetworkCreateInput): Promise<NetworkRecord> {
    const net = await this.manager.createNetwork(input);
    await this.startDns(net);
    return net;
  }

  async removeNetwork(idOrName: string): Promise<void> {
    const net = this.manager.get(idOrName);
    await this.manager.removeNetwork(net.id);
    await this.stopDns(net.id);
  }

  list(): NetworkRecord[] {
    return this.manager.list();
  }

  get(idOrName: string): NetworkRecord {
    return this.manager.get(idOrName);
  }

  /** A network as the protocol shows it, with its containers. */
  describe(net: NetworkRecord): Network {
    return { ...net, containers: this.containersOf(net.id) };
  }

  /** Connects a container with a netns of its own to one more network (`network connect`). */
  async connect(o: {
    id: string;
    name: string;
    network: string;
    aliases: readonly string[];
    ip?: string;
  }): Promise<void> {
    const path = this.manager.netnsPath(o.id);
    if (!(await isNetnsMount(path)))
      throw new DomainError(
        "invalid_state",
        `container ${o.id.slice(0, 12)} has no network namespace of its own (host or container: mode, or not created here)`,
      );
    const net = this.manager.get(o.network);
    if (this.manager.endpoints(o.id).some((e) => e.network.id === net.id))
      throw conflict(`container ${o.id.slice(0, 12)} is already connected to ${net.name}`);
    await this.manager.attach({
      containerId: o.id,
      network: net.id,
      netnsPath: path,
      aliases: net.isDefault ? [] : [...new Set([o.name, o.id.slice(0, 12), ...o.aliases])],
      ...(o.ip !== undefined ? { ip: o.ip } : {}),
    });
  }

  /** Disconnects a container from one network (its ports there go too). */
  async disconnect(id: string, network: string): Promise<void> {
    const net = this.manager.get(network);
    if (!this.manager.endpoints(id).some((e) => e.network.id === net.id))
      throw notFound(`container ${id.slice(0, 12)} is not connected to ${net.name}`);
    await this.manager.detach(id, net.id);
  }

  /** Containers on a network, by id (for inspect). */
  containersOf(networkId: string): { containerId: string; ip: string; mac: string }[] {
    return this.manager.store
      .allocations({ networkId })
      .map((a) => ({ containerId: a.containerId, ip: a.ip, mac: a.mac }));
  }

  // ------------------------------------------------------------ containers

  /**
   * Builds a container's network before `runc create`: its netns (or the host's / another
   * container's), its interface on the network, and its resolv.conf and hosts files in `dir`.
   * On failure everything made here is released.
   */
  async prepare(o: {
    id: string;
    name: string;
    hostname: string;
    spec: ContainerSpec;
    dir: string;
    /** Resolves `container:<x>` to a running container's id on this node. */
    resolveContainer: (ref: string) => string;
  }): Promise<PreparedNetwork> {
    const mode = networkModeOf(o.spec);
    const resolvConf = join(o.dir, "resolv.conf");
    const hosts = join(o.dir, "hosts");
    const extra = o.spec.addHosts ?? [];
    if (mode === "host") {
      const hostResolv = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
      await writeFile(
        resolvConf,
        o.spec.dns?.length ? renderResolvConf({ nameservers: o.spec.dns }) : hostResolv,
      );
      const hostHosts = await readFile("/etc/hosts", "utf8").catch(() => "");
      await writeFile(hosts, hostHosts + extra.map((e) => `${e.ip}\t${e.host}\n`).join(""));
      return { mode, netnsPath: null, ownsNetns: false, resolvConf, hosts };
    }
    if (mode.startsWith("container:")) {
      if (o.spec.ports?.length || o.spec.publishAll)
        throw invalidInput("ports cannot be published with --network container:<x>");
      const other = o.resolveContainer(mode.slice("container:".length));
      const path = this.manager.netnsPath(other);
      if (!(await isNetnsMount(path)))
        throw new DomainError(
          "invalid_state",
          `container ${other.slice(0, 12)} has no network namespace of its own to join`,
        );
      const eps = this.manager.endpoints(other);
      await writeFile(
        resolvConf,
        renderResolvConf({
          nameservers: o.spec.dns?.length ? o.spec.dns : eps[0] ? [eps[0].network.gateway] : [],
        }),
      );
      await writeFile(
        hosts,
        renderHosts({ hostname: o.hostname, addresses: eps.map((e) => e.ip), extra }),
      );
      return { mode, netnsPath: path, ownsNetns: false, resolvConf, hosts };
    }
    const path = this.manager.netnsPath(o.id);
    if (mode === "none") {
      if (o.spec.ports?.length || o.spec.publishAll)
        throw invalidInput("ports cannot be published with --network none");
      await createNetns(path, { loUp: true });
      try {
        await writeFile(resolvConf, renderResolvConf({ nameservers: o.spec.dns ?? [] }));
        await writeFile(hosts, renderHosts({ hostname: o.hostname, addresses: [], extra }));
      } catch (e) {
        await deleteNetns(path).catch(() => undefined);
        throw e;
      }
      return { mode, netnsPath: path, ownsNetns: true, resolvConf, hosts };
    }
    let net: NetworkRecord;
    try {
      net = this.manager.get(mode);
    } catch {
      throw notFound(`network ${mode} not found`);
    }
    // Checked before anything exists: a bad -p fails the run with nothing to undo.
    portRequestsOf(o.spec, {});
    const aliases = net.isDefault
      ? []
      : [...new Set([o.name, o.id.slice(0, 12), o.hostname, ...(o.spec.networkAliases ?? [])])];
    // netns + veth + address + route in two subprocesses (undone by itself on failure).
    const ep = await this.manager.createAndAttach({
      containerId: o.id,
      network: net.id,
      netnsPath: path,
      aliases,
    });
    try {
      await writeFile(
        resolvConf,
        renderResolvConf({
          nameservers: o.spec.dns?.length ? o.spec.dns : [net.gateway],
          ...(o.spec.dns?.length ? {} : { options: ["ndots:0"] }),
        }),
      );
      await writeFile(hosts, renderHosts({ hostname: o.hostname, addresses: [ep.ip], extra }));
    } catch (e) {
      await this.release(o.id).catch(() => undefined);
      throw e;
    }
    return { mode, netnsPath: path, ownsNetns: true, resolvConf, hosts };
  }

  /** Publishes a container's ports on its first network (no-op without ports). */
  async publish(
    id: string,
    spec: ContainerSpec,
    exposed: Record<string, unknown> | null | undefined,
  ): Promise<void> {
    const reqs = portRequestsOf(spec, exposed);
    if (reqs.length === 0) return;
    const ep = this.manager.endpoints(id)[0];
    if (!ep) throw invalidInput(`container ${id.slice(0, 12)} has no network to publish ports on`);
    await this.manager.unpublish(id);
    await this.manager.publish(id, ep.network.id, reqs);
  }

  async unpublish(id: string): Promise<void> {
    await this.manager.unpublish(id);
  }

  /** Everything of a container: ports, veths, addresses, its own netns. */
  async release(id: string): Promise<void> {
    await this.manager.release(id);
  }

  /** Releases what belongs to containers that no longer exist (after an agent restart). */
  async releaseUnknown(known: ReadonlySet<string>): Promise<string[]> {
    const ids = new Set(this.manager.store.allocations({}).map((a) => a.containerId));
    for (const p of this.manager.store.ports()) ids.add(p.containerId);
    const gone = [...ids].filter((id) => !known.has(id));
    for (const id of gone) await this.release(id);
    return gone;
  }

  status(id: string, spec: Pick<ContainerSpec, "network">): ContainerNetwork {
    return {
      mode: networkModeOf(spec),
      endpoints: this.manager.endpoints(id).map((e) => ({
        network: e.network.name,
        networkId: e.network.id,
        ifName: e.ifName,
        ip: e.ip,
        prefixLen: e.prefixLen,
        mac: e.mac,
        gateway: e.network.gateway,
        aliases: e.aliases,
      })),
      ports: this.manager.store.ports({ containerId: id }).map((p) => ({
        hostIp: p.hostIp,
        hostPort: p.hostPort,
        containerPort: p.containerPort,
        protocol: p.protocol,
      })),
    };
  }

  counters(id: string): Promise<InterfaceCounters[]> {
    return this.manager.counters(id);
  }

  /** The host ends of a container's veths. */
  hostVeths(id: string): string[] {
    return this.manager.hostVeths(id);
  }

  async close(): Promise<void> {
    for (const id of [...this.responders.keys()]) await this.stopDns(id);
  }

  /** Removes every object of a prefix (tests; `berth-agent --cleanup`). */
  static cleanup(prefix: string, stateDir?: string) {
    return cleanupAll(prefix, stateDir);
  }
}

/**
 * The spec options of a prepared network: join its netns by path (none for host mode: the
 * network namespace is then left out of withNamespaces by the caller), and bind-mount the
 * container's resolv.conf and hosts read-only.
 */
export function withNetwork(p: PreparedNetwork): SpecOpt {
  return (s) => {
    if (p.netnsPath !== null) {
      const ns = s.linux.namespaces.find((n) => n.type === "network");
      if (ns) ns.path = p.netnsPath;
      else s.linux.namespaces.push({ type: "network", path: p.netnsPath });
    }
    const files: OciMount[] = [
      {
        destination: "/etc/resolv.conf",
        type: "bind",
        source: p.resolvConf,
        options: ["rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"],
      },
      {
        destination: "/etc/hosts",
        type: "bind",
        source: p.hosts,
        options: ["rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"],
      },
    ];
    // A user's own bind mount of either file (`-v ./hosts:/etc/hosts`) wins.
    s.mounts = [
      ...s.mounts,
      ...files.filter((f) => !s.mounts.some((m) => m.destination === f.destination)),
    ];
  };
}
