/**
 * NetworkManager: bridge networks for containers on this host, built on the store (IPAM,
 * ports), netns.ts (pre-created network namespaces) and iptables.ts (NAT, isolation).
 *
 * Lifecycle of a container's network (the container service drives it):
 *   createNetns(mgr.netnsPath(id))            before `runc create`, in parallel with the rootfs
 *   attach({containerId, network, netnsPath})  veth pair, eth0 in the netns, address, route
 *   publish(containerId, network, requests)    DNAT rules (after the conflict checks)
 *   spec: linux.namespaces network → { path: mgr.netnsPath(id) }
 *   … container runs …
 *   release(containerId)                       ports, veths, addresses, the netns itself
 * Every step costs one or two subprocesses (`ip -batch -`, `nsenter … ip -batch -`,
 * `iptables-restore --noflush`). Networks are IPv4 only.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { DomainError, conflict, invalidInput, notFound } from "@berth/core";
import { run } from "../sys/exec";
import { applyRules, type RuleTable } from "./iptables";
import {
  CidrSchema,
  Ipv4Schema,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  hostRange,
  intToIp,
  ipToInt,
  macFromIp,
  parseCidr,
  type Cidr,
} from "./ipv4";
import { netNames, type NetNames } from "./names";
import { createNetns, deleteNetns, inNetns } from "./netns";
import {
  NetworkStore,
  portsClash,
  type Allocation,
  type NetworkRecord,
  type PortBinding,
} from "./network-store";
import type { PortRequest } from "./ports";

export const DEFAULT_NETWORK_NAME = "bridge";
export const DEFAULT_SUBNET = "172.30.0.0/16";
/** Subnets tried, in order, for networks created without one (overlaps are skipped). */
export const DEFAULT_POOL: readonly string[] = [
  ...Array.from({ length: 12 }, (_, i) => `172.${18 + i}.0.0/16`),
  ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
];

export const NetworkNameSchema = z
  .string()
  .trim()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "must be 1-64 of a-z A-Z 0-9 _ . - (not first)");

export const NetworkCreateInputSchema = z
  .object({
    name: NetworkNameSchema,
    teamId: z.string().min(1).nullable().default(null),
    subnet: CidrSchema.optional(),
    gateway: Ipv4Schema.optional(),
    icc: z.boolean().default(true),
    masquerade: z.boolean().default(true),
    internal: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.gateway !== undefined && v.subnet === undefined)
      ctx.addIssue({ code: "custom", path: ["gateway"], message: "needs --subnet" });
    if (v.subnet === undefined) return;
    const c = parseCidr(v.subnet);
    if (c.prefix < 8 || c.prefix > 29)
      ctx.addIssue({ code: "custom", path: ["subnet"], message: "prefix must be /8 to /29" });
    if (v.gateway !== undefined) {
      const g = ipToInt(v.gateway);
      if (c.prefix <= 30) {
        const { first, last } = hostRange(c);
        if (!cidrContains(c, g) || g < first || g > last)
          ctx.addIssue({
            code: "custom",
            path: ["gateway"],
            message: `must be a host address of ${v.subnet}`,
          });
      }
    }
  });
export type NetworkCreateInput = z.input<typeof NetworkCreateInputSchema>;

export const AttachInputSchema = z.object({
  containerId: z.string().min(1).max(128),
  /** Network id, id prefix or name. */
  network: z.string().min(1),
  /** Default: `<stateDir>/netns/<containerId>`. */
  netnsPath: z.string().startsWith("/").optional(),
  /** Default: eth<n>, n = the container's number of networks so far. */
  ifName: z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/)
    .optional(),
  ip: Ipv4Schema.optional(),
  /** DNS names of the container on this network (its name, aliases, short id). */
  aliases: z.array(z.string().min(1).max(253)).default([]),
  /** Default: true for the container's first network. */
  defaultRoute: z.boolean().optional(),
});
export type AttachInput = z.input<typeof AttachInputSchema>;

export interface InterfaceCounters {
  networkId: string;
  ifName: string;
  hostVeth: string;
  /** From the container's point of view (host end's rx is the container's tx). */
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

export interface NetworkManagerOptions {
  stateDir: string;
  /** Interface and chain prefix (names.ts); default "berth". Tests use their own. */
  prefix?: string;
  /** Subnet of the default `bridge` network; default 172.30.0.0/16 (the pool if taken). */
  defaultSubnet?: string;
  /** Whether open() creates the default network (default true). */
  createDefault?: boolean;
  pool?: readonly string[];
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** IPv4 routes of the host (any table), except default routes and this prefix's bridges. */
async function hostRoutes(names: NetNames): Promise<{ dst: Cidr; dev: string }[]> {
  const r = await run(["ip", "-j", "-4", "route", "show", "table", "all"]);
  const routes = JSON.parse(r.stdout || "[]") as { dst?: string; dev?: string; type?: string }[];
  const out: { dst: Cidr; dev: string }[] = [];
  for (const x of routes) {
    if (!x.dst || x.dst === "default" || !x.dev || names.owns(x.dev)) continue;
    if (x.type === "broadcast" || x.type === "local") {
      if (x.dev === "lo") continue;
    }
    const dst = x.dst.includes("/") ? x.dst : `${x.dst}/32`;
    try {
      out.push({ dst: parseCidr(dst), dev: x.dev });
    } catch {
      /* not an IPv4 prefix */
    }
  }
  return out;
}

async function sysctlWrite(path: string, value: string): Promise<void> {
  await writeFile(path, value);
}

/**
 * Turns on the host-wide IPv4 forwarding switch (what Docker does at start). Needed for
 * outbound NAT and for published ports reached from other hosts (the packet enters on the
 * host's uplink); the library itself only enables forwarding on its bridges. Returns the
 * previous value. Not called by tests: it would let the host route between real interfaces.
 */
export async function enableHostForwarding(): Promise<boolean> {
  const path = "/proc/sys/net/ipv4/ip_forward";
  const was = (await readFile(path, "utf8")).trim() === "1";
  if (!was) await writeFile(path, "1");
  return was;
}

/** Whether a host port is free for a new listener: bind, then close at once (held by nothing). */
export function probeHostPort(
  hostIp: string,
  port: number,
  protocol: "tcp" | "udp",
): Promise<number | "in_use" | "no_address"> {
  return new Promise((resolve, reject) => {
    const onErr = (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE" || e.code === "EACCES") resolve("in_use");
      else if (e.code === "EADDRNOTAVAIL") resolve("no_address");
      else reject(e);
    };
    if (protocol === "tcp") {
      const s = createServer();
      s.once("error", onErr);
      s.listen({ host: hostIp, port, exclusive: true, backlog: 1 }, () => {
        const a = s.address();
        const got = typeof a === "object" && a ? a.port : port;
        s.close(() => resolve(got));
      });
    } else {
      const s = createSocket({ type: "udp4" });
      s.once("error", onErr);
      s.bind({ address: hostIp, port, exclusive: true }, () => {
        const got = s.address().port;
        s.close(() => resolve(got));
      });
    }
  });
}

export class NetworkManager {
  readonly names: NetNames;
  readonly netnsDir: string;
  private rules: Promise<unknown> = Promise.resolve();
  private netLock: Promise<unknown> = Promise.resolve();
  private readonly log: NonNullable<NetworkManagerOptions["log"]>;

  private constructor(
    readonly store: NetworkStore,
    private readonly opts: NetworkManagerOptions,
  ) {
    this.names = netNames(opts.prefix ?? "berth");
    this.netnsDir = join(opts.stateDir, "netns");
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * Opens the store, recreates missing bridges (after a reboot), rewrites the rules and hooks,
   * and creates the default network when there is none.
   */
  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const store = await NetworkStore.open(join(opts.stateDir, "networks.json"));
    const m = new NetworkManager(store, opts);
    const r = await run(["ip", "-j", "link", "show", "type", "bridge"]);
    const present = new Set(
      (JSON.parse(r.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname),
    );
    for (const n of store.networks()) if (!present.has(n.bridge)) await m.createBridge(n);
    await m.syncRules(["filter", "nat"], true);
    if ((opts.createDefault ?? true) && !store.networks().some((n) => n.isDefault)) {
      await m.createNetwork({ name: DEFAULT_NETWORK_NAME }, { isDefault: true });
    }
    return m;
  }

  netnsPath(containerId: string): string {
    return join(this.netnsDir, containerId);
  }

  list(): NetworkRecord[] {
    return this.store.networks();
  }

  get(idOrName: string): NetworkRecord {
    const n = this.store.network(idOrName);
    if (!n) throw notFound(`network ${idOrName} not found`);
    return n;
  }

  defaultNetwork(): NetworkRecord | undefined {
    return this.store.networks().find((n) => n.isDefault);
  }

  /** Serializes network creation/removal (subnet choice must see the previous one). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.netLock.then(fn);
    this.netLock = next.catch(() => undefined);
    return next;
  }

  /**
   * Rewrites this prefix's iptables chains from the store (serialized; reads the latest state
   * when it runs). Port changes need only `nat`.
   */
  syncRules(tables: readonly RuleTable[] = ["filter", "nat"], checkHooks = false): Promise<void> {
    const next = this.rules.then(() =>
      applyRules(this.names, this.store.networks(), this.store.ports(), { tables, checkHooks }),
    );
    this.rules = next.catch(() => undefined);
    return next;
  }

  async createNetwork(
    input: NetworkCreateInput,
    internalOpts: { isDefault?: boolean } = {},
  ): Promise<NetworkRecord> {
    const parsed = NetworkCreateInputSchema.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw invalidInput(`invalid network ${i.path.join(".") || "options"}: ${i.message}`);
    }
    const v = parsed.data;
    return this.serial(async () => {
      if (this.store.network(v.name)?.name === v.name)
        throw conflict(`network ${v.name} already exists`);
      const routes = await hostRoutes(this.names);
      const taken = [
        ...routes.map((r) => ({
          cidr: r.dst,
          what: `host route ${formatCidr(r.dst)} dev ${r.dev}`,
        })),
        ...this.store
          .networks()
          .map((n) => ({ cidr: parseCidr(n.subnet), what: `network ${n.name} (${n.subnet})` })),
      ];
      const clash = (c: Cidr) => taken.find((t) => cidrsOverlap(t.cidr, c));
      let subnet: Cidr;
      if (v.subnet !== undefined) {
        subnet = parseCidr(v.subnet);
        const t = clash(subnet);
        if (t) throw conflict(`subnet ${v.subnet} overlaps ${t.what}`);
      } else {
        const candidates = internalOpts.isDefault
          ? [this.opts.defaultSubnet ?? DEFAULT_SUBNET, ...(this.opts.pool ?? DEFAULT_POOL)]
          : (this.opts.pool ?? DEFAULT_POOL);
        const free = candidates.map(parseCidr).find((c) => !clash(c));
        if (!free) throw conflict("no free subnet left in the address pool: pass --subnet");
        subnet = free;
      }
      const gateway = v.gateway ?? intToIp(hostRange(subnet).first);
      const id = randomBytes(32).toString("hex");
      const rec: NetworkRecord = {
        id,
        name: v.name,
        teamId: v.teamId,
        driver: "bridge",
        subnet: formatCidr(subnet),
        gateway,
        bridge: internalOpts.isDefault ? this.names.defaultBridge : this.names.bridgeFor(id),
        icc: v.icc,
        masquerade: v.masquerade,
        internal: v.internal,
        isDefault: internalOpts.isDefault ?? false,
        createdAt: new Date().toISOString(),
      };
      // Recorded first: a crash in between leaves a record that open()/cleanupAll can act on.
      await this.store.addNetwork(rec);
      try {
        await this.createBridge(rec);
        await this.syncRules();
      } catch (e) {
        await run(["ip", "link", "del", rec.bridge], { allowFailure: true });
        await this.store.removeNetwork(rec.id);
        await this.syncRules().catch(() => undefined);
        throw e;
      }
      this.log("network created", { name: rec.name, subnet: rec.subnet, bridge: rec.bridge });
      return rec;
    });
  }

  private async createBridge(n: NetworkRecord): Promise<void> {
    const prefix = parseCidr(n.subnet).prefix;
    await run(["ip", "-batch", "-"], {
      input:
        // A fixed MAC: a bridge otherwise takes its lowest port's, and changes with it.
        `link add ${n.bridge} address ${macFromIp(n.gateway)} type bridge\n` +
        `addr add ${n.gateway}/${prefix} dev ${n.bridge}\n` +
        `link set ${n.bridge} up\n`,
    });
    const conf = `/proc/sys/net/ipv4/conf/${n.bridge}`;
    // Forwarding per bridge (not the host-wide switch): routed traffic from the bridge is
    // allowed, and then filtered by the prefix's FORWARD chains.
    await sysctlWrite(`${conf}/forwarding`, n.internal ? "0" : "1");
    await sysctlWrite(`${conf}/route_localnet`, "1");
  }

  removeNetwork(idOrName: string): Promise<void> {
    return this.serial(async () => {
      const n = this.get(idOrName);
      if (n.isDefault)
        throw invalidInput(`network ${n.name} is the default network: it cannot be removed`);
      const users = this.store.allocations({ networkId: n.id });
      if (users.length > 0)
        throw conflict(
          `network ${n.name} has ${users.length} connected container(s): ${users.map((u) => u.containerId.slice(0, 12)).join(", ")}`,
        );
      await this.store.removeNetwork(n.id);
      await this.syncRules();
      await run(["ip", "link", "del", n.bridge], { allowFailure: true });
    });
  }

  /**
   * Connects a container's (pre-created) network namespace to a network: allocates its address
   * (persisted first), creates the veth pair with the container end directly in the netns,
   * then configures it inside (two subprocesses in all).
   */
  async attach(input: AttachInput): Promise<Allocation> {
    const parsed = AttachInputSchema.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw invalidInput(`invalid ${i.path.join(".") || "attach input"}: ${i.message}`);
    }
    const v = parsed.data;
    const net = this.get(v.network);
    const mine = this.store.allocations({ containerId: v.containerId });
    const netnsPath = v.netnsPath ?? this.netnsPath(v.containerId);
    const a = await this.store.allocate(
      net.id,
      {
        containerId: v.containerId,
        ifName: v.ifName ?? `eth${mine.length}`,
        hostVeth: this.names.newVeth(),
        netnsPath,
        aliases: v.aliases,
        defaultRoute: v.defaultRoute ?? !mine.some((m) => m.defaultRoute),
        ...(v.ip !== undefined ? { ip: v.ip } : {}),
      },
      macFromIp,
    );
    const prefix = parseCidr(net.subnet).prefix;
    try {
      await run(["ip", "-batch", "-"], {
        input:
          `link add ${a.hostVeth} master ${net.bridge} up type veth ` +
          `peer name ${a.ifName} address ${a.mac} netns ${netnsPath}\n` +
          (net.icc ? "" : `link set dev ${a.hostVeth} type bridge_slave isolated on\n`),
      });
      await inNetns(netnsPath, ["ip", "-batch", "-"], {
        input:
          "link set lo up\n" +
          `addr add ${a.ip}/${prefix} dev ${a.ifName}\n` +
          `link set ${a.ifName} up\n` +
          (a.defaultRoute && !net.internal
            ? `route add default via ${net.gateway} dev ${a.ifName}\n`
            : ""),
      });
    } catch (e) {
      await run(["ip", "link", "del", a.hostVeth], { allowFailure: true });
      await this.store.release(v.containerId, net.id);
      throw e;
    }
    return a;
  }

  /**
   * createNetns + attach of a container's first network in two subprocesses instead of three:
   * `unshare --net=<path>` runs one `ip -batch` in the new namespace that brings lo up, creates
   * the veth pair from inside (the container end with its MAC, the host end moved to the
   * agent's own namespace with `netns <agent pid>`), and sets the address and default route;
   * then one `ip -batch` on the host enslaves the host end to the bridge. On failure nothing is
   * left: veth, namespace and allocation go.
   */
  async createAndAttach(input: AttachInput & { netnsPath: string }): Promise<Allocation> {
    const parsed = AttachInputSchema.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw invalidInput(`invalid ${i.path.join(".") || "attach input"}: ${i.message}`);
    }
    const v = parsed.data;
    const netnsPath = input.netnsPath;
    const net = this.get(v.network);
    if (this.store.allocations({ containerId: v.containerId }).length > 0)
      throw invalidState(`container ${v.containerId} already has a network: use attach`);
    const a = await this.store.allocate(
      net.id,
      {
        containerId: v.containerId,
        ifName: v.ifName ?? "eth0",
        hostVeth: this.names.newVeth(),
        netnsPath,
        aliases: v.aliases,
        defaultRoute: v.defaultRoute ?? true,
        ...(v.ip !== undefined ? { ip: v.ip } : {}),
      },
      macFromIp,
    );
    const prefix = parseCidr(net.subnet).prefix;
    let created = false;
    try {
      await createNetns(netnsPath, {
        exec: {
          argv: ["ip", "-batch", "-"],
          input:
            "link set lo up\n" +
            `link add ${a.ifName} address ${a.mac} type veth peer name ${a.hostVeth} netns ${process.pid}\n` +
            `addr add ${a.ip}/${prefix} dev ${a.ifName}\n` +
            `link set ${a.ifName} up\n` +
            (a.defaultRoute && !net.internal
              ? `route add default via ${net.gateway} dev ${a.ifName}\n`
              : ""),
        },
      });
      created = true;
      await run(["ip", "-batch", "-"], {
        input:
          `link set ${a.hostVeth} master ${net.bridge} up\n` +
          (net.icc ? "" : `link set dev ${a.hostVeth} type bridge_slave isolated on\n`),
      });
    } catch (e) {
      await run(["ip", "link", "del", a.hostVeth], { allowFailure: true });
      if (created) await deleteNetns(netnsPath).catch(() => undefined);
      await this.store.release(v.containerId, net.id);
      throw e;
    }
    return a;
  }

  /** Disconnects a container from one network (all without `network`); absent veths are fine. */
  async detach(containerId: string, network?: string): Promise<void> {
    const netId = network === undefined ? undefined : this.get(network).id;
    const eps = this.store.allocations({
      containerId,
      ...(netId !== undefined ? { networkId: netId } : {}),
    });
    if (eps.length === 0) return;
    const hadPorts = this.store
      .ports({ containerId })
      .some((p) => netId === undefined || p.networkId === netId);
    const r = await run(["ip", "-force", "-batch", "-"], {
      input: eps.map((e) => `link del ${e.hostVeth}\n`).join(""),
      allowFailure: true,
    });
    const errors = r.stderr
      .split("\n")
      .filter((l) => l.trim() && !/Cannot find device|does not exist|Command failed/.test(l));
    if (r.code !== 0 && errors.length > 0)
      throw new DomainError("runtime", `detach ${containerId}: ${errors.join("; ")}`);
    await this.store.release(containerId, netId);
    if (hadPorts) await this.syncRules(["nat"]);
  }

  /**
   * Publishes ports of a container on one of its networks. Every request is checked against
   * Berth's own bindings and by binding the host port (a host process using it is refused),
   * before any rule is written; the checking socket is closed again (see ARCHITECTURE.md).
   */
  async publish(
    containerId: string,
    network: string,
    requests: readonly PortRequest[],
  ): Promise<PortBinding[]> {
    const net = this.get(network);
    if (net.internal)
      throw invalidInput(`network ${net.name} is internal: ports cannot be published on it`);
    const ep = this.store.allocations({ containerId, networkId: net.id })[0];
    if (!ep) throw invalidState(`container ${containerId} is not connected to ${net.name}`);
    const existing = this.store.ports();
    const chosen: PortBinding[] = [];
    for (const req of requests) {
      const busy = (port: number) =>
        [...existing, ...chosen].find((p) =>
          portsClash(p, { hostIp: req.hostIp, hostPort: port, protocol: req.protocol }),
        );
      let hostPort: number | undefined;
      let why = "";
      if (req.hostPort === null) {
        for (let i = 0; i < 20 && hostPort === undefined; i++) {
          const got = await probeHostPort(req.hostIp, 0, req.protocol);
          if (got === "no_address") throw noAddress(req.hostIp);
          if (typeof got === "number" && !busy(got)) hostPort = got;
        }
        why = "no free host port found";
      } else {
        for (let p = req.hostPort.start; p <= req.hostPort.end && hostPort === undefined; p++) {
          const other = busy(p);
          if (other) {
            why = `host port ${req.hostIp}:${p}/${req.protocol} is already published by container ${other.containerId.slice(0, 12)}`;
            continue;
          }
          const got = await probeHostPort(req.hostIp, p, req.protocol);
          if (got === "no_address") throw noAddress(req.hostIp);
          if (got === "in_use") {
            why = `host port ${req.hostIp}:${p}/${req.protocol} is already in use by another process on the host`;
            continue;
          }
          hostPort = p;
        }
        if (hostPort === undefined && req.hostPort.start !== req.hostPort.end)
          why = `no free host port in ${req.hostPort.start}-${req.hostPort.end}/${req.protocol} (${why})`;
      }
      if (hostPort === undefined) throw conflict(`port is already allocated: ${why}`);
      chosen.push({
        containerId,
        networkId: net.id,
        hostIp: req.hostIp,
        hostPort,
        containerIp: ep.ip,
        containerPort: req.containerPort,
        protocol: req.protocol,
      });
    }
    await this.store.addPorts(chosen);
    try {
      await this.syncRules(["nat"]);
    } catch (e) {
      await this.store.update((d) => {
        d.ports = d.ports.filter(
          (p) => !chosen.some((c) => c.containerId === p.containerId && portsClash(c, p)),
        );
      });
      throw e;
    }
    return chosen;
  }

  /** Removes every published port of the container (rules included). */
  async unpublish(containerId: string): Promise<PortBinding[]> {
    const gone = await this.store.removePorts(containerId);
    if (gone.length > 0) await this.syncRules(["nat"]);
    return gone;
  }

  /** Everything of a container: ports, veths, addresses, and its netns (when it is ours). */
  async release(containerId: string, netnsPath = this.netnsPath(containerId)): Promise<void> {
    // detach releases the ports with the addresses (one store write, one nat rewrite).
    await this.detach(containerId);
    await deleteNetns(netnsPath);
  }

  endpoints(containerId: string): (Allocation & { network: NetworkRecord; prefixLen: number })[] {
    return this.store.allocations({ containerId }).map((a) => {
      const network = this.get(a.networkId);
      return { ...a, network, prefixLen: parseCidr(network.subnet).prefix };
    });
  }

  /** A-record lookup for the DNS responder: names of containers on one network. */
  lookup(networkId: string, name: string): string[] {
    const q = name.toLowerCase().replace(/\.$/, "");
    return this.store
      .allocations({ networkId })
      .filter((a) => a.aliases.some((x) => x.toLowerCase() === q))
      .map((a) => a.ip);
  }

  /** The host ends of a container's veths (usage accounting reads their counters). */
  hostVeths(containerId: string): string[] {
    return this.store.allocations({ containerId }).map((a) => a.hostVeth);
  }

  /** rx/tx counters per interface, read from the host veth end (swapped to the container's view). */
  async counters(containerId: string): Promise<InterfaceCounters[]> {
    return Promise.all(
      this.store.allocations({ containerId }).map(async (a) => {
        const base = `/sys/class/net/${a.hostVeth}/statistics`;
        const read = async (f: string) => Number((await readFile(`${base}/${f}`, "utf8")).trim());
        const [rxB, txB, rxP, txP] = await Promise.all(
          ["rx_bytes", "tx_bytes", "rx_packets", "tx_packets"].map(read),
        );
        return {
          networkId: a.networkId,
          ifName: a.ifName,
          hostVeth: a.hostVeth,
          rxBytes: txB!,
          txBytes: rxB!,
          rxPackets: txP!,
          txPackets: rxP!,
        };
      }),
    );
  }
}

function noAddress(ip: string): DomainError {
  return invalidInput(`host IP ${ip} is not an address of this host`);
}

function invalidState(msg: string): DomainError {
  return new DomainError("invalid_state", msg);
}
