/** What the server answers for networks.* (validated on arrival like every view). */
import { z } from "zod";
import { ContainerNetworkSchema } from "@berth/core";

export const NetworkViewSchema = z.looseObject({
  nodeId: z.string(),
  nodeName: z.string(),
  id: z.string(),
  name: z.string(),
  teamId: z.string().nullable(),
  subnet: z.string(),
  gateway: z.string(),
  bridge: z.string(),
  icc: z.boolean(),
  masquerade: z.boolean(),
  internal: z.boolean(),
  isDefault: z.boolean(),
  /** Epoch ms per the API's convention. */
  createdAt: z.number(),
  containers: z.array(z.looseObject({ containerId: z.string(), ip: z.string(), mac: z.string() })),
});
export type NetworkView = z.infer<typeof NetworkViewSchema>;

export const NetworkRemoveResultSchema = z.looseObject({ removed: z.boolean() });

export const ContainerNetworksSchema = z.array(
  z.looseObject({ containerId: z.string(), network: ContainerNetworkSchema }),
);
export type ContainerNetworks = z.infer<typeof ContainerNetworksSchema>;
