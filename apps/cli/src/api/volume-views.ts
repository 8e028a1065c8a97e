/** What the server answers for volumes.* (validated on arrival like every view). */
import { z } from "zod";

export const VolumeViewSchema = z.looseObject({
  nodeId: z.string(),
  nodeName: z.string(),
  name: z.string(),
  mountpoint: z.string(),
  /** Epoch ms per the API's convention. */
  createdAt: z.number(),
});
export type VolumeView = z.infer<typeof VolumeViewSchema>;

export const VolumeRemoveResultSchema = z.looseObject({ removed: z.boolean() });
