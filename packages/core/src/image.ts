/** Images as the API and the agent protocol describe them (inspect, tag, rmi, prune). */
import { z } from "zod";
import { ImageRefSchema } from "./container";

/** A reference (`busybox:latest`), a manifest digest (`sha256:…`) or an id prefix (12+ hex). */
export const ImageRefOrIdSchema = z.union([
  z.string().regex(/^sha256:[a-f0-9]{64}$/, "digests are sha256:<64 hex>"),
  ImageRefSchema,
]);

export const ImageLayerSchema = z.object({
  digest: z.string(),
  size: z.number().int().nonnegative(),
  mediaType: z.string(),
  diffId: z.string(),
});

/** `image inspect`. `config` is the image config's `config` object as the image has it. */
export const ImageDetailsSchema = z.object({
  digest: z.string(),
  refs: z.array(z.string()),
  size: z.number().int().nonnegative(),
  created: z.string().nullable(),
  architecture: z.string(),
  os: z.string(),
  config: z.record(z.string(), z.unknown()),
  layers: z.array(ImageLayerSchema),
  history: z.array(
    z.object({
      created: z.string().optional(),
      created_by: z.string().optional(),
      empty_layer: z.boolean().optional(),
      comment: z.string().optional(),
    }),
  ),
});
export type ImageDetails = z.infer<typeof ImageDetailsSchema>;

/** What `rmi` / `image prune` did: references removed and images (manifest digests) deleted. */
export const ImageRemovalSchema = z.object({
  untagged: z.array(z.string()),
  deleted: z.array(z.string()),
});
export type ImageRemoval = z.infer<typeof ImageRemovalSchema>;

/**
 * Splits `host:5000/team/app:tag@sha256:…` into repository and tag like `docker images` shows
 * them (`<none>` for a digest-only reference).
 */
export function splitImageRef(ref: string): { repository: string; tag: string } {
  const at = ref.indexOf("@");
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  if (colon > slash) return { repository: named.slice(0, colon), tag: named.slice(colon + 1) };
  return { repository: named, tag: at >= 0 ? "<none>" : "latest" };
}

/** The short image id `docker images` shows: the first 12 hex digits of the digest. */
export function shortImageId(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}
