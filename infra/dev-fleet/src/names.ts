/**
 * Names and addresses of a fleet, all derived from its prefix (pure): a second fleet with
 * another prefix never touches this one's objects, and `down` finds everything again even
 * after a crash lost the state file.
 *   bridge <p>0 · host veth ends <p>v<i> · hosts (node names) <p>-h<i> · run dir /run/berth-fleet/<p>
 *   each agent's network prefix: the prefix's letters + the index as letters (bfla, bflb…); its
 *   bridges and iptables chains live in the host's own namespace, so they never meet another's
 *   subnet 10.213.<x>.0/24: the bridge (server address) is .1, host i is .(10+i)
 */
import { z } from "zod";

export const IFNAME_MAX = 15;
export const MAX_HOSTS = 64;
export const DEFAULT_PREFIX = "bfl";
export const DEFAULT_RUN_ROOT = "/run/berth-fleet";

export const FleetPrefixSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9]{1,7}$/,
    "prefix must be 2-8 lowercase letters or digits, starting with a letter",
  )
  .refine((p) => p !== "berth", "prefix `berth` is the real agent's (its bridge is berth0)");

export const HostCountSchema = z.coerce
  .number()
  .int("hosts must be a whole number")
  .min(1, "hosts must be at least 1")
  .max(MAX_HOSTS, `hosts must be at most ${MAX_HOSTS}`);

export interface FleetNames {
  prefix: string;
  bridge: string;
  runDir: string;
  stateFile: string;
  netnsDir: string;
  hostsDir: string;
  /** Name of the cgroup made under the caller's own group in every hierarchy. */
  cgroupName: string;
  /** iptables comment marking the fleet's guard rule. */
  ruleComment: string;
  host(index: number): {
    name: string;
    veth: string;
    netns: string;
    stateDir: string;
    log: string;
    /** The agent's own `--network-prefix` (its bridges, veths, iptables chains): letters only. */
    networkPrefix: string;
  };
  /** Whether a host-side link belongs to this fleet (the bridge or a host veth end). */
  ownsLink(ifname: string): boolean;
}

/** 1 → a … 26 → z, 27 → ba …: a host index as letters (network prefixes take no digits). */
function letters(i: number): string {
  let n = i - 1;
  let out = String.fromCharCode(97 + (n % 26));
  for (n = Math.floor(n / 26); n > 0; n = Math.floor(n / 26))
    out = String.fromCharCode(97 + (n % 26)) + out;
  return out;
}

export function fleetNames(prefix: string, runRoot = DEFAULT_RUN_ROOT): FleetNames {
  const p = FleetPrefixSchema.parse(prefix);
  if (!/^\/[^\0]*[^/]$/.test(runRoot) || runRoot.split("/").includes(".."))
    throw new Error(`run root must be an absolute path without ..: ${runRoot}`);
  const runDir = `${runRoot}/${p}`;
  const vethRe = new RegExp(`^${p}v\\d+$`);
  return {
    prefix: p,
    bridge: `${p}0`,
    runDir,
    stateFile: `${runDir}/state.json`,
    netnsDir: `${runDir}/netns`,
    hostsDir: `${runDir}/hosts`,
    cgroupName: `berth-fleet-${p}`,
    ruleComment: `berth-fleet:${p}`,
    host(index) {
      if (!Number.isInteger(index) || index < 1 || index > MAX_HOSTS)
        throw new Error(`host index out of range: ${index}`);
      const name = `${p}-h${index}`;
      const veth = `${p}v${index}`;
      if (veth.length > IFNAME_MAX) throw new Error(`interface name too long: ${veth}`);
      return {
        name,
        veth,
        netns: `${runDir}/netns/${name}`,
        stateDir: `${runDir}/hosts/${name}`,
        log: `${runDir}/hosts/${name}.log`,
        networkPrefix: `${p.replace(/[^a-z]/g, "").slice(0, 5)}${letters(index)}`,
      };
    },
    ownsLink: (n) => n === `${p}0` || vethRe.test(n),
  };
}

// --- IPv4 ---------------------------------------------------------------------------------

export interface Cidr {
  base: number;
  bits: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const s of parts) {
    const v = Number(s);
    if (!/^\d{1,3}$/.test(s) || v > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

const mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** Parses `a.b.c.d[/n]` (a route's `dst`; `default` is 0.0.0.0/0). */
export function parseCidr(s: string): Cidr {
  if (s === "default") return { base: 0, bits: 0 };
  const [ip, len] = s.split("/");
  const bits = len === undefined ? 32 : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`bad prefix length: ${s}`);
  return { base: (ipToInt(ip ?? "") & mask(bits)) >>> 0, bits };
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask(bits)) >>> 0 === (b.base & mask(bits)) >>> 0;
}

/**
 * Picks 10.213.<x>.0/24 for a prefix: the first x, starting from a hash of the prefix, whose /24
 * overlaps none of `taken` (the machine's routes and addresses; default routes are ignored).
 */
export function pickSubnet(prefix: string, taken: readonly string[]): string {
  const used = taken.map(parseCidr).filter((c) => c.bits > 0);
  let h = 0;
  for (const ch of prefix) h = (h * 31 + ch.charCodeAt(0)) % 256;
  for (let i = 0; i < 256; i++) {
    const x = (h + i) % 256;
    const c = parseCidr(`10.213.${x}.0/24`);
    if (!used.some((u) => overlaps(u, c))) return `10.213.${x}.0/24`;
  }
  throw new Error("no free /24 in 10.213.0.0/16 for the fleet bridge");
}

/** The bridge's (server's) address and host i's address in a /24. */
export function addressesOf(subnet: string): { server: string; host(index: number): string } {
  const c = parseCidr(subnet);
  if (c.bits !== 24) throw new Error(`fleet subnet must be a /24: ${subnet}`);
  return {
    server: intToIp(c.base + 1),
    host: (i) => {
      if (i < 1 || i > MAX_HOSTS) throw new Error(`host index out of range: ${i}`);
      return intToIp(c.base + 10 + i);
    },
  };
}
