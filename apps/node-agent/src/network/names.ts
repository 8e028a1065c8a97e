/**
 * Names of everything the network library creates on a host, derived from one prefix so that a
 * test (or a second agent of a dev fleet) never touches another's objects, and `cleanupAll`
 * can find them all again. Prefix: 2–8 lowercase letters (`berth` for a real agent).
 *   default bridge  <p>0           user bridges  <p>-<hex>     host veth ends  <p>_<hex>
 *   iptables chains <P>-FORWARD <P>-ISOLATION-1 <P>-ISOLATION-2 (filter), <P>-DNAT <P>-POSTROUTING (nat)
 * Linux interface names are at most 15 characters.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";

export const NetPrefixSchema = z
  .string()
  .regex(/^[a-z]{2,8}$/, "network prefix must be 2-8 lowercase letters");

export const IFNAME_MAX = 15;

export interface NetNames {
  prefix: string;
  defaultBridge: string;
  bridgeFor(networkId: string): string;
  newVeth(): string;
  /** Whether an interface name belongs to this prefix (bridge or host veth end). */
  owns(ifname: string): boolean;
  chains: {
    forward: string;
    isolation1: string;
    isolation2: string;
    dnat: string;
    postrouting: string;
  };
}

export function netNames(prefix: string): NetNames {
  const p = NetPrefixSchema.parse(prefix);
  const P = p.toUpperCase();
  const room = IFNAME_MAX - p.length - 1;
  return {
    prefix: p,
    defaultBridge: `${p}0`,
    bridgeFor: (id) => `${p}-${id.slice(0, room)}`,
    newVeth: () => `${p}_${randomBytes(8).toString("hex").slice(0, room)}`,
    owns: (n) => n === `${p}0` || n.startsWith(`${p}-`) || n.startsWith(`${p}_`),
    chains: {
      forward: `${P}-FORWARD`,
      isolation1: `${P}-ISOLATION-1`,
      isolation2: `${P}-ISOLATION-2`,
      dnat: `${P}-DNAT`,
      postrouting: `${P}-POSTROUTING`,
    },
  };
}
