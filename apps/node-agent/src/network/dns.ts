/**
 * Name resolution for containers: a small DNS responder of the agent (node:dgram), one per
 * network, listening on the network's gateway address, port 53. It answers A queries for the
 * names of the containers on *that* network (names, aliases, short ids: `lookup`), answers
 * other types of a known name with no data, and forwards every other query to the host's
 * upstream resolvers (or refuses it when there are none). Queries from outside the network's
 * subnet are ignored. Containers get a resolv.conf naming the gateway (renderResolvConf) and
 * a static /etc/hosts for their own name and --add-host entries (renderHosts).
 * Why a responder rather than managed /etc/hosts for peers: see docs/ARCHITECTURE.md.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { cidrContains, ipToInt, parseCidr, type Cidr } from "./ipv4";

const TYPE_A = 1;
const CLASS_IN = 1;
const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, refused: 5 } as const;

export interface Upstream {
  host: string;
  port?: number;
}

export interface DnsResponderOptions {
  /**
   * IPv4 addresses of a name (already lower-cased, no trailing dot) for the asker at `from`;
   * [] when unknown.
   */
  lookup: (name: string, from?: string) => string[];
  upstreams?: readonly Upstream[];
  /** Only queries from this CIDR are answered (the network's subnet). */
  allowFrom?: string;
  ttl?: number;
  upstreamTimeoutMs?: number;
}

export interface DnsQuestion {
  id: number;
  flags: number;
  name: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question section. */
  end: number;
}

/** Parses the header and the (single) question of a DNS query; undefined when malformed. */
export function parseQuery(msg: Buffer): DnsQuestion | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) {
      off += 1;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined; // no compression in queries
    labels.push(msg.subarray(off + 1, off + 1 + len).toString("latin1"));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return {
    id: msg.readUInt16BE(0),
    flags,
    name: labels.join(".").toLowerCase(),
    qtype: msg.readUInt16BE(off),
    qclass: msg.readUInt16BE(off + 2),
    end: off + 4,
  };
}

/** Builds a response to `q` (question echoed) with A answers. */
export function buildResponse(
  query: Buffer,
  q: DnsQuestion,
  rcode: number,
  answers: readonly string[],
  ttl: number,
): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(q.id, 0);
  // QR=1, opcode copied, AA=1, RD copied, RA=1, rcode.
  head.writeUInt16BE(0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  const parts = [head, query.subarray(12, q.end)];
  for (const ip of answers) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    rr.writeUInt32BE(ipToInt(ip), 12);
    parts.push(rr);
  }
  return Buffer.concat(parts);
}

export class DnsResponder {
  private readonly allow: Cidr | undefined;

  private constructor(
    private readonly sock: Socket,
    private readonly opts: DnsResponderOptions,
  ) {
    this.allow = opts.allowFrom !== undefined ? parseCidr(opts.allowFrom) : undefined;
  }

  static listen(host: string, port: number, opts: DnsResponderOptions): Promise<DnsResponder> {
    const sock = createSocket({ type: "udp4" });
    const r = new DnsResponder(sock, opts);
    return new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off("error", reject);
        sock.on("error", () => undefined);
        sock.on("message", (msg, rinfo) => void r.onMessage(msg, rinfo));
        resolve(r);
      });
    });
  }

  get address(): { address: string; port: number } {
    return this.sock.address();
  }

  close(): Promise<void> {
    return new Promise((r) => this.sock.close(() => r()));
  }

  private async onMessage(msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    if (this.allow && !cidrContains(this.allow, ipToInt(rinfo.address))) return;
    const q = parseQuery(msg);
    if (!q) return;
    const ttl = this.opts.ttl ?? 30;
    const reply = (b: Buffer) => this.sock.send(b, rinfo.port, rinfo.address);
    if (q.qclass === CLASS_IN) {
      const ips = this.opts.lookup(q.name.replace(/\.$/, ""), rinfo.address);
      if (ips.length > 0) {
        reply(buildResponse(msg, q, RCODE.noError, q.qtype === TYPE_A ? ips : [], ttl));
        return;
      }
    }
    const ups = this.opts.upstreams ?? [];
    if (ups.length === 0) {
      reply(buildResponse(msg, q, RCODE.refused, [], ttl));
      return;
    }
    for (const u of ups) {
      const answer = await forward(msg, u, this.opts.upstreamTimeoutMs ?? 2000);
      if (answer) {
        reply(answer);
        return;
      }
    }
    reply(buildResponse(msg, q, RCODE.servFail, [], ttl));
  }
}

/** Sends a query to an upstream from a fresh socket (random source port) and waits for its answer. */
function forward(msg: Buffer, u: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket({ type: "udp4" });
    const id = msg.readUInt16BE(0);
    const done = (b: Buffer | undefined) => {
      clearTimeout(t);
      s.close();
      resolve(b);
    };
    const t = setTimeout(() => done(undefined), timeoutMs);
    s.on("error", () => done(undefined));
    s.on("message", (b, from) => {
      if (from.address === u.host && b.length >= 12 && b.readUInt16BE(0) === id) done(b);
    });
    s.send(msg, u.port ?? 53, u.host);
  });
}

/** The host's nameservers from resolv.conf text, without loopback ones (unreachable from containers). */
export function upstreamsFromResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (m && !m[1]!.startsWith("127.")) out.push({ host: m[1]! });
  }
  return out;
}

/** resolv.conf for a container: the network's gateway (or --dns servers), search, options. */
export function renderResolvConf(o: {
  nameservers: readonly string[];
  search?: readonly string[];
  options?: readonly string[];
}): string {
  const lines = o.nameservers.map((n) => `nameserver ${n}`);
  if (o.search?.length) lines.push(`search ${o.search.join(" ")}`);
  if (o.options?.length) lines.push(`options ${o.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/** /etc/hosts for a container: loopback, its own addresses and name, then --add-host entries. */
export function renderHosts(o: {
  hostname: string;
  addresses: readonly string[];
  extra?: readonly { host: string; ip: string }[];
}): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    ...o.addresses.map((a) => `${a}\t${o.hostname}`),
    ...(o.extra ?? []).map((e) => `${e.ip}\t${e.host}`),
  ];
  return `${lines.join("\n")}\n`;
}
