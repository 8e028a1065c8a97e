/**
 * IPv4 arithmetic for the network library (IPv4 only: Berth networks have no IPv6 yet).
 * Addresses are handled as unsigned 32-bit integers; subnets as {base, prefix}.
 */
import { z } from "zod";

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export const Ipv4Schema = z.string().trim().regex(IPV4_RE, "must be an IPv4 address (a.b.c.d)");

export const CidrSchema = z
  .string()
  .trim()
  .refine((s) => {
    const [ip, len, ...rest] = s.split("/");
    return (
      rest.length === 0 &&
      ip !== undefined &&
      IPV4_RE.test(ip) &&
      len !== undefined &&
      /^\d{1,2}$/.test(len) &&
      Number(len) <= 32
    );
  }, "must be an IPv4 subnet in CIDR form (a.b.c.d/len)")
  .transform((s) => {
    const c = parseCidr(s);
    return `${intToIp(c.base)}/${c.prefix}`;
  });

export interface Cidr {
  /** Network address (host bits cleared). */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  if (!IPV4_RE.test(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseCidr(s: string): Cidr {
  const [ip, len] = s.split("/");
  const prefix = Number(len ?? "32");
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`bad prefix: ${s}`);
  return { base: (ipToInt(ip ?? "") & maskOf(prefix)) >>> 0, prefix };
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefix)) >>> 0 === c.base;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & maskOf(p)) >>> 0 === (b.base & maskOf(p)) >>> 0;
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

/** The usable host range of a subnet: network and broadcast addresses excluded (/31, /32 refused). */
export function hostRange(c: Cidr): { first: number; last: number } {
  if (c.prefix > 30) throw new Error(`subnet /${c.prefix} is too small for a bridge network`);
  return { first: c.base + 1, last: c.base + cidrSize(c) - 2 };
}

/** A MAC address derived from the IPv4 address, as Docker does: 02:42:a:b:c:d (locally administered). */
export function macFromIp(ip: string): string {
  const n = ipToInt(ip);
  return [
    "02",
    "42",
    ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) =>
      b.toString(16).padStart(2, "0"),
    ),
  ].join(":");
}
