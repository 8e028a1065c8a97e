/**
 * Networks: the agent's bridge networks as the protocol, the API and the CLI see them, and the
 * inputs that create and connect them. IPv4 only. The agent validates again (and picks a
 * subnet when none is given); these schemas bound what crosses a boundary.
 */
import { z } from "zod";
import { ContainerIdSchema } from "./ids";

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** The default network every agent has; it cannot be created or removed by users. */
export const DEFAULT_NETWORK = "bridge";
/** Modes that are not networks (`--network none|host|container:<x>`). */
export const RESERVED_NETWORK_NAMES = ["bridge", "none", "host", "default"] as const;

export const NetworkNameSchema = z
  .string()
  .trim()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "network names are 1-64 of a-z A-Z 0-9 _ . -");

export const Ipv4AddressSchema = z.string().trim().regex(IPV4, "must be an IPv4 address (a.b.c.d)");
export const Ipv4CidrSchema = z
  .string()
  .trim()
  .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "must be a CIDR like 10.1.0.0/16")
  .refine((s) => IPV4.test(s.split("/")[0]!) && Number(s.split("/")[1]) <= 32, "invalid CIDR");

/** `network create` options (the server adds the team). */
export const NetworkCreateOptionsSchema = z.object({
  name: NetworkNameSchema.refine(
    (n) => !(RESERVED_NETWORK_NAMES as readonly string[]).includes(n),
    "bridge, none, host and default are reserved network names",
  ),
  subnet: Ipv4CidrSchema.optional(),
  gateway: Ipv4AddressSchema.optional(),
  /** Inter-container traffic on the network (`--icc=false` isolates its containers). */
  icc: z.boolean().default(true),
  /** Outbound NAT of the subnet (`--no-masquerade` turns it off). */
  masquerade: z.boolean().default(true),
  /** No traffic in or out of the network (`--internal`). */
  internal: z.boolean().default(false),
});
export type NetworkCreateOptions = z.infer<typeof NetworkCreateOptionsSchema>;

export const NetworkContainerSchema = z.object({
  containerId: z.string(),
  ip: z.string(),
  mac: z.string(),
});

export const NetworkSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** Owner; null for the default network (every team may use it). */
  teamId: z.string().nullable(),
  driver: z.literal("bridge"),
  subnet: z.string(),
  gateway: z.string(),
  bridge: z.string(),
  icc: z.boolean(),
  masquerade: z.boolean(),
  internal: z.boolean(),
  isDefault: z.boolean(),
  createdAt: z.string(),
  containers: z.array(NetworkContainerSchema).default([]),
});
export type Network = z.infer<typeof NetworkSchema>;

/** Agent command params. */
export const NetworkCreateParamsSchema = NetworkCreateOptionsSchema.extend({
  teamId: z.string().min(1).max(128).nullable(),
});
export const NetworkRefParamsSchema = z.object({ network: z.string().trim().min(1).max(128) });
export const NetworkConnectParamsSchema = z.object({
  network: z.string().trim().min(1).max(128),
  containerId: ContainerIdSchema,
  aliases: z.array(z.string().min(1).max(253)).max(32).default([]),
  ip: Ipv4AddressSchema.optional(),
});
export const NetworkDisconnectParamsSchema = z.object({
  network: z.string().trim().min(1).max(128),
  containerId: ContainerIdSchema,
});
