/**
 * NetworkStore: the network library's persisted state, one JSON file (`<stateDir>/networks.json`,
 * written atomically like the agent's other state): networks, IPAM allocations (which are also
 * the container endpoints: address, MAC, interface names, netns) and published ports.
 * Every mutation is serialized and written to disk *before* the caller uses its result, so an
 * address or a host port is never handed out twice, also across agent restarts.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { conflict, invalidInput, notFound } from "@berth/core";
import { isErrno, writeFileAtomic } from "../sys/fs";
import {
  CidrSchema,
  Ipv4Schema,
  cidrContains,
  hostRange,
  intToIp,
  ipToInt,
  parseCidr,
} from "./ipv4";
import { PortProtocolSchema } from "./ports";

export const NetworkRecordSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1).max(64),
  teamId: z.string().nullable(),
  driver: z.literal("bridge"),
  subnet: CidrSchema,
  gateway: Ipv4Schema,
  bridge: z.string().min(1).max(15),
  /** Inter-container traffic on this bridge (false: bridge ports are isolated from each other). */
  icc: z.boolean(),
  /** Outbound NAT (MASQUERADE) of the subnet to the host's other interfaces. */
  masquerade: z.boolean(),
  /** No traffic in or out of the bridge except between its containers. */
  internal: z.boolean(),
  isDefault: z.boolean(),
  createdAt: z.string(),
});
export type NetworkRecord = z.infer<typeof NetworkRecordSchema>;

export const AllocationSchema = z.object({
  networkId: z.string(),
  containerId: z.string().min(1),
  ip: Ipv4Schema,
  mac: z.string(),
  /** Interface name inside the container (eth0, eth1…). */
  ifName: z.string(),
  /** Host end of the veth pair, attached to the bridge. */
  hostVeth: z.string(),
  netnsPath: z.string(),
  aliases: z.array(z.string()),
  /** Whether the container's default route goes through this network's gateway. */
  defaultRoute: z.boolean(),
});
export type Allocation = z.infer<typeof AllocationSchema>;

export const PortBindingSchema = z.object({
  containerId: z.string(),
  networkId: z.string(),
  hostIp: Ipv4Schema,
  hostPort: z.number().int().min(1).max(65_535),
  containerIp: Ipv4Schema,
  containerPort: z.number().int().min(1).max(65_535),
  protocol: PortProtocolSchema,
});
export type PortBinding = z.infer<typeof PortBindingSchema>;

const StoreFileSchema = z.object({
  version: z.literal(1),
  networks: z.array(NetworkRecordSchema),
  allocations: z.array(AllocationSchema),
  ports: z.array(PortBindingSchema),
  /** Last address handed out per network: allocation goes round-robin, so a just-released
   * address is not reused at once (stale ARP caches elsewhere). */
  cursors: z.record(z.string(), z.number().int()),
});
export type StoreData = z.infer<typeof StoreFileSchema>;

function empty(): StoreData {
  return { version: 1, networks: [], allocations: [], ports: [], cursors: {} };
}

/** Two bindings clash when protocol and port match and their host addresses overlap. */
export function portsClash(
  a: Pick<PortBinding, "hostIp" | "hostPort" | "protocol">,
  b: Pick<PortBinding, "hostIp" | "hostPort" | "protocol">,
): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (a.hostIp === b.hostIp || a.hostIp === "0.0.0.0" || b.hostIp === "0.0.0.0")
  );
}

export class NetworkStore {
  private data: StoreData = empty();
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(readonly file: string) {}

  static async open(file: string): Promise<NetworkStore> {
    const s = new NetworkStore(file);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    try {
      s.data = StoreFileSchema.parse(JSON.parse(await readFile(file, "utf8")));
    } catch (e) {
      if (!isErrno(e, "ENOENT")) throw e;
    }
    return s;
  }

  /** A deep copy of the current state. */
  snapshot(): StoreData {
    return structuredClone(this.data);
  }

  networks(): NetworkRecord[] {
    return structuredClone(this.data.networks);
  }

  network(idOrName: string): NetworkRecord | undefined {
    const n =
      this.data.networks.find((x) => x.id === idOrName || x.name === idOrName) ??
      (idOrName.length >= 6
        ? this.data.networks.find((x) => x.id.startsWith(idOrName))
        : undefined);
    return n && structuredClone(n);
  }

  allocations(filter: { containerId?: string; networkId?: string } = {}): Allocation[] {
    return structuredClone(
      this.data.allocations.filter(
        (a) =>
          (filter.containerId === undefined || a.containerId === filter.containerId) &&
          (filter.networkId === undefined || a.networkId === filter.networkId),
      ),
    );
  }

  ports(filter: { containerId?: string } = {}): PortBinding[] {
    return structuredClone(
      this.data.ports.filter(
        (p) => filter.containerId === undefined || p.containerId === filter.containerId,
      ),
    );
  }

  /**
   * Applies `fn` to a copy of the state under the store's lock, writes the result to disk and
   * only then makes it current. `fn` may throw to abort (nothing is written).
   */
  update<T>(fn: (d: StoreData) => T): Promise<T> {
    const next = this.lock.then(async () => {
      const d = structuredClone(this.data);
      const out = fn(d);
      const parsed = StoreFileSchema.parse(d);
      await writeFileAtomic(this.file, JSON.stringify(parsed, null, 2), 0o600);
      this.data = parsed;
      return out;
    });
    this.lock = next.catch(() => undefined);
    return next;
  }

  addNetwork(n: NetworkRecord): Promise<void> {
    return this.update((d) => {
      if (d.networks.some((x) => x.name === n.name))
        throw conflict(`network ${n.name} already exists`);
      d.networks.push(NetworkRecordSchema.parse(n));
    });
  }

  removeNetwork(id: string): Promise<void> {
    return this.update((d) => {
      if (d.allocations.some((a) => a.networkId === id))
        throw conflict(`network ${id} has active endpoints`);
      d.networks = d.networks.filter((n) => n.id !== id);
      delete d.cursors[id];
    });
  }

  /**
   * IPAM: allocates an address of the network to a container (the requested one, or the next
   * free one after the last handed out) and records the endpoint. Never returns an address
   * another live allocation holds, nor the network, broadcast or gateway address.
   */
  allocate(
    networkId: string,
    ep: Omit<Allocation, "networkId" | "ip" | "mac"> & { ip?: string },
    mac: (ip: string) => string,
  ): Promise<Allocation> {
    return this.update((d) => {
      const net = d.networks.find((n) => n.id === networkId);
      if (!net) throw notFound(`network ${networkId} not found`);
      if (d.allocations.some((a) => a.networkId === networkId && a.containerId === ep.containerId))
        throw conflict(`container ${ep.containerId} is already connected to network ${net.name}`);
      const cidr = parseCidr(net.subnet);
      const { first, last } = hostRange(cidr);
      const used = new Set(
        d.allocations.filter((a) => a.networkId === networkId).map((a) => ipToInt(a.ip)),
      );
      used.add(ipToInt(net.gateway));
      let ip: number | undefined;
      if (ep.ip !== undefined) {
        const want = ipToInt(Ipv4Schema.parse(ep.ip));
        if (!cidrContains(cidr, want) || want < first || want > last)
          throw invalidInput(`address ${ep.ip} is not a usable address of ${net.subnet}`);
        if (used.has(want)) throw conflict(`address ${ep.ip} is already in use on ${net.name}`);
        ip = want;
      } else {
        const size = last - first + 1;
        const cursor = d.cursors[networkId] ?? first - 1;
        for (let i = 1; i <= size; i++) {
          const cand = first + ((cursor - first + i + size) % size);
          if (!used.has(cand)) {
            ip = cand;
            break;
          }
        }
        if (ip === undefined) throw conflict(`no free address left on network ${net.name}`);
        d.cursors[networkId] = ip;
      }
      const ipStr = intToIp(ip);
      const a: Allocation = {
        networkId,
        containerId: ep.containerId,
        ip: ipStr,
        mac: mac(ipStr),
        ifName: ep.ifName,
        hostVeth: ep.hostVeth,
        netnsPath: ep.netnsPath,
        aliases: ep.aliases,
        defaultRoute: ep.defaultRoute,
      };
      d.allocations.push(a);
      return structuredClone(a);
    });
  }

  /** Frees a container's address on a network (all its networks without networkId). */
  release(containerId: string, networkId?: string): Promise<Allocation[]> {
    return this.update((d) => {
      const gone = d.allocations.filter(
        (a) =>
          a.containerId === containerId && (networkId === undefined || a.networkId === networkId),
      );
      d.allocations = d.allocations.filter((a) => !gone.includes(a));
      d.ports = d.ports.filter(
        (p) =>
          !(
            p.containerId === containerId &&
            (networkId === undefined || p.networkId === networkId)
          ),
      );
      return gone;
    });
  }

  /** Records published ports, refusing any clash with another live binding. */
  addPorts(bindings: PortBinding[]): Promise<void> {
    return this.update((d) => {
      for (const b of bindings) {
        const other = d.ports.find((p) => portsClash(p, b));
        if (other)
          throw conflict(
            `host port ${b.hostIp}:${b.hostPort}/${b.protocol} is already published by container ${other.containerId.slice(0, 12)}`,
          );
        d.ports.push(PortBindingSchema.parse(b));
      }
    });
  }

  removePorts(containerId: string): Promise<PortBinding[]> {
    return this.update((d) => {
      const gone = d.ports.filter((p) => p.containerId === containerId);
      d.ports = d.ports.filter((p) => p.containerId !== containerId);
      return gone;
    });
  }
}
