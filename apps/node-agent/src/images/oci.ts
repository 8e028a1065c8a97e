/**
 * The OCI image formats the agent stores (image-spec v1): manifest, config, descriptors, and
 * the agent's own image index file. Every blob read back from disk is parsed with these.
 */
import { z } from "zod";

export const MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json";
export const MEDIA_TYPE_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const MEDIA_TYPE_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";

export const DigestSchema = z
  .string()
  .regex(/^sha256:[a-f0-9]{64}$/, "digests are sha256:<64 hex>");
export type Digest = z.infer<typeof DigestSchema>;

export const DescriptorSchema = z.object({
  mediaType: z.string(),
  digest: DigestSchema,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

export const ManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPE_MANIFEST).optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema).max(127),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export const ImageConfigSchema = z.object({
  created: z.string().optional(),
  architecture: z.string(),
  os: z.string(),
  config: z
    .object({
      User: z.string().optional(),
      Env: z.array(z.string()).optional(),
      Entrypoint: z.array(z.string()).nullable().optional(),
      Cmd: z.array(z.string()).nullable().optional(),
      WorkingDir: z.string().optional(),
      /** The signal `stop` sends first (Dockerfile STOPSIGNAL); SIGTERM when absent. */
      StopSignal: z.string().optional(),
      Labels: z.record(z.string(), z.string()).nullable().optional(),
    })
    .optional(),
  rootfs: z.object({ type: z.literal("layers"), diff_ids: z.array(DigestSchema) }),
  history: z
    .array(
      z.object({
        created: z.string().optional(),
        created_by: z.string().optional(),
        empty_layer: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** `<stateDir>/images/index.json`: normalized reference → manifest digest. */
export const ImageIndexFileSchema = z.object({
  version: z.literal(1),
  images: z.record(z.string(), z.object({ digest: DigestSchema, storedAt: z.string() })),
});
export type ImageIndexFile = z.infer<typeof ImageIndexFileSchema>;
