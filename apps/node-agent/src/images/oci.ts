/**
 * The OCI image formats the agent stores (image-spec v1): manifest, config, descriptors, and
 * the agent's own image index file. Every blob read back from disk is parsed with these.
 */
import * as zlib from "node:zlib";
import { DomainError } from "@berth/core";
import { z } from "zod";

export const MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json";
export const MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json";
export const MEDIA_TYPE_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const MEDIA_TYPE_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
export const MEDIA_TYPE_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** Deprecated "non-distributable" OCI layers (Windows base layers): refused. */
export const MEDIA_TYPE_LAYER_NONDISTRIBUTABLE_PREFIX =
  "application/vnd.oci.image.layer.nondistributable.";

/** Docker's formats (image manifest v2, schema 2), accepted on input and converted to OCI. */
export const DOCKER_MEDIA_TYPE_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MEDIA_TYPE_MANIFEST_LIST =
  "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_MEDIA_TYPE_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_MEDIA_TYPE_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const DOCKER_MEDIA_TYPE_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";
export const DOCKER_MEDIA_TYPE_LAYER_FOREIGN =
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/** Schema 1 (signed and unsigned): deprecated since 2017, refused. */
export const DOCKER_MEDIA_TYPES_SCHEMA1 = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
] as const;

/** What a registry may answer for a manifest request, preferred first. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_MANIFEST,
  DOCKER_MEDIA_TYPE_MANIFEST_LIST,
  DOCKER_MEDIA_TYPE_MANIFEST,
] as const;

export const DigestSchema = z
  .string()
  .regex(/^sha256:[a-f0-9]{64}$/, "digests are sha256:<64 hex>");
export type Digest = z.infer<typeof DigestSchema>;

export const PlatformSchema = z.object({
  architecture: z.string().min(1).max(64),
  os: z.string().min(1).max(64),
  "os.version": z.string().max(256).optional(),
  "os.features": z.array(z.string().max(256)).max(64).optional(),
  variant: z.string().max(64).optional(),
  features: z.array(z.string().max(256)).max(64).optional(),
});
export type Platform = z.infer<typeof PlatformSchema>;

export const DescriptorSchema = z.object({
  mediaType: z.string().max(256),
  digest: DigestSchema,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  urls: z.array(z.string().max(2048)).max(32).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().max(256).optional(),
  platform: PlatformSchema.optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** An OCI image manifest: the form the agent stores (Docker schema2 is converted to it). */
export const ManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPE_MANIFEST).optional(),
  artifactType: z.string().max(256).optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema).max(127),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Docker image manifest v2, schema 2 (input only). */
export const DockerManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(DOCKER_MEDIA_TYPE_MANIFEST),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema).max(127),
});
export type DockerManifest = z.infer<typeof DockerManifestSchema>;

/** An OCI image index or a Docker manifest list: one manifest per platform. */
export const ImageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.enum([MEDIA_TYPE_INDEX, DOCKER_MEDIA_TYPE_MANIFEST_LIST]).optional(),
  artifactType: z.string().max(256).optional(),
  manifests: z.array(DescriptorSchema).max(1024),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageIndex = z.infer<typeof ImageIndexSchema>;

/** Docker's HEALTHCHECK as stored in image configs (durations in nanoseconds). */
export const ImageHealthcheckSchema = z.object({
  Test: z.array(z.string()).nullable().optional(),
  Interval: z.number().int().nonnegative().optional(),
  Timeout: z.number().int().nonnegative().optional(),
  StartPeriod: z.number().int().nonnegative().optional(),
  StartInterval: z.number().int().nonnegative().optional(),
  Retries: z.number().int().nonnegative().optional(),
});

/** OCI image config (Docker's `container.image.v1` is the same shape). Unknown keys ignored. */
export const ImageConfigSchema = z.object({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string(),
  os: z.string(),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
  variant: z.string().optional(),
  config: z
    .object({
      User: z.string().optional(),
      /** `{"80/tcp": {}}` — Docker writes `{}` values, some tools `null`. */
      ExposedPorts: z.record(z.string(), z.unknown()).nullable().optional(),
      Env: z.array(z.string()).nullable().optional(),
      Entrypoint: z.array(z.string()).nullable().optional(),
      Cmd: z.array(z.string()).nullable().optional(),
      Volumes: z.record(z.string(), z.unknown()).nullable().optional(),
      WorkingDir: z.string().optional(),
      /** The signal `stop` sends first (Dockerfile STOPSIGNAL); SIGTERM when absent. */
      StopSignal: z.string().optional(),
      Labels: z.record(z.string(), z.string()).nullable().optional(),
      Healthcheck: ImageHealthcheckSchema.nullable().optional(),
      Shell: z.array(z.string()).nullable().optional(),
      OnBuild: z.array(z.string()).nullable().optional(),
      ArgsEscaped: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  rootfs: z.object({ type: z.literal("layers"), diff_ids: z.array(DigestSchema) }),
  history: z
    .array(
      z.object({
        created: z.string().optional(),
        created_by: z.string().optional(),
        author: z.string().optional(),
        comment: z.string().optional(),
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

/** Docker schema2 media types and their OCI equivalents (the blobs' bytes are identical). */
const DOCKER_TO_OCI: Record<string, string> = {
  [DOCKER_MEDIA_TYPE_CONFIG]: MEDIA_TYPE_CONFIG,
  [DOCKER_MEDIA_TYPE_LAYER_GZIP]: MEDIA_TYPE_LAYER_GZIP,
  [DOCKER_MEDIA_TYPE_LAYER_TAR]: MEDIA_TYPE_LAYER_TAR,
};

/** How a layer can be unpacked on this node, or why not. */
export type LayerSupport =
  { ok: true; compression: "gzip" | "none" } | { ok: false; reason: string };

/** Whether this Node can decompress zstd (zlib gained it in Node 22.15 / 23.8; Node 20 lacks it). */
export function zstdAvailable(): boolean {
  return typeof (zlib as Record<string, unknown>)["createZstdDecompress"] === "function";
}

export function layerSupport(mediaType: string, zstd = zstdAvailable()): LayerSupport {
  switch (mediaType) {
    case MEDIA_TYPE_LAYER_GZIP:
    case DOCKER_MEDIA_TYPE_LAYER_GZIP:
      return { ok: true, compression: "gzip" };
    case MEDIA_TYPE_LAYER_TAR:
    case DOCKER_MEDIA_TYPE_LAYER_TAR:
      return { ok: true, compression: "none" };
    case MEDIA_TYPE_LAYER_ZSTD:
      return zstd
        ? { ok: false, reason: "zstd layers are not unpacked by this agent yet" }
        : {
            ok: false,
            reason: `zstd-compressed layers (${mediaType}) need zstd support, which this Node.js (${process.version}) lacks; pull a gzip variant of the image`,
          };
    case DOCKER_MEDIA_TYPE_LAYER_FOREIGN:
      return { ok: false, reason: `foreign (non-distributable) layers are not supported` };
    default:
      if (mediaType.startsWith(MEDIA_TYPE_LAYER_NONDISTRIBUTABLE_PREFIX))
        return { ok: false, reason: `non-distributable layers are not supported` };
      return { ok: false, reason: `unsupported layer media type ${mediaType}` };
  }
}

/**
 * Converts a Docker schema2 manifest into the equivalent OCI manifest: same config and layer
 * blobs (digests unchanged), OCI media types. The manifest's own digest changes, so the caller
 * keeps the original's digest as the registry digest.
 */
export function dockerToOciManifest(m: DockerManifest): Manifest {
  const conv = (d: Descriptor): Descriptor => {
    const mediaType = DOCKER_TO_OCI[d.mediaType];
    if (mediaType === undefined) {
      const support = layerSupport(d.mediaType);
      throw new DomainError(
        "invalid_input",
        support.ok ? `unexpected media type ${d.mediaType}` : support.reason,
      );
    }
    const out: Descriptor = { mediaType, digest: d.digest, size: d.size };
    if (d.annotations) out.annotations = d.annotations;
    return out;
  };
  if (m.config.mediaType !== DOCKER_MEDIA_TYPE_CONFIG)
    throw new DomainError(
      "invalid_input",
      `docker manifest with config media type ${m.config.mediaType} is not an image`,
    );
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: conv(m.config),
    layers: m.layers.map(conv),
  };
}
