/** What the server answers for images.inspect/tag/remove/prune (validated on arrival). */
import { z } from "zod";
import { ImageDetailsSchema, ImageRemovalSchema } from "@berth/core";

const OnNode = { nodeId: z.string(), nodeName: z.string() };

export const ImageDetailsViewSchema = ImageDetailsSchema.extend(OnNode).loose();
export type ImageDetailsView = z.infer<typeof ImageDetailsViewSchema>;

export const ImageTagViewSchema = z.looseObject({ digest: z.string(), ...OnNode });

export const ImageRemovalViewSchema = ImageRemovalSchema.extend(OnNode).loose();
export type ImageRemovalView = z.infer<typeof ImageRemovalViewSchema>;

export const ImagePruneViewSchema = ImageRemovalSchema.extend({
  ...OnNode,
  reclaimedBytes: z.number(),
}).loose();
export type ImagePruneView = z.infer<typeof ImagePruneViewSchema>;
