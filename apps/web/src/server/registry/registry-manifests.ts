/**
 * Manifest validation for the media types the registry stores: OCI image manifest and index,
 * Docker schema2 manifest and manifest list. Checks the JSON shape (zod) and that the declared
 * media type agrees with the request's Content-Type; the caller then checks that every
 * referenced blob / child manifest exists in the repository.
 */
import { z } from "zod";
import { RegistryError } from "./registry-errors";
import type { Descriptor } from "./registry-storage";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const MANIFEST_MEDIA_TYPES = [
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_LIST,
] as const;

const DigestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, "a sha256 digest");
const DescriptorSchema = z.object({
  mediaType: z.string().min(1).max(255),
  digest: DigestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().max(255).optional(),
  platform: z.unknown().optional(),
});
const ImageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().max(255).optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const IndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().max(255).optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export interface ParsedManifest {
  mediaType: string;
  kind: "image" | "index";
  /** Blobs that must exist in the repository (config and layers without external urls). */
  blobs: Descriptor[];
  /** Child manifests (indexes) that must exist in the repository. */
  manifests: Descriptor[];
  subject: Descriptor | null;
  artifactType: string | undefined;
  annotations: Record<string, string> | undefined;
}

/** Parses and validates a manifest body; MANIFEST_INVALID (or UNSUPPORTED) otherwise. */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new RegistryError("MANIFEST_INVALID", "manifest invalid: not JSON");
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new RegistryError("MANIFEST_INVALID", "manifest invalid: not a JSON object");
  const declared = (raw as { mediaType?: unknown }).mediaType;
  const header = contentType?.split(";")[0]?.trim().toLowerCase() || undefined;
  if (declared !== undefined && typeof declared !== "string")
    throw new RegistryError("MANIFEST_INVALID", "manifest invalid: mediaType is not a string");
  if (declared !== undefined && header !== undefined && declared !== header)
    throw new RegistryError(
      "MANIFEST_INVALID",
      `manifest invalid: mediaType ${declared} does not match Content-Type ${header}`,
    );
  const mediaType =
    declared ??
    header ??
    ("manifests" in raw ? OCI_INDEX : "config" in raw ? OCI_MANIFEST : undefined);
  if (!mediaType || !(MANIFEST_MEDIA_TYPES as readonly string[]).includes(mediaType))
    throw new RegistryError(
      "MANIFEST_INVALID",
      `manifest invalid: unsupported media type ${mediaType ?? "(none)"}`,
      {
        mediaType: mediaType ?? null,
      },
    );
  const strip = (d: z.infer<typeof DescriptorSchema>): Descriptor => ({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
    ...(d.annotations ? { annotations: d.annotations } : {}),
  });
  if (mediaType === OCI_INDEX || mediaType === DOCKER_LIST) {
    const r = IndexSchema.safeParse(raw);
    if (!r.success)
      throw new RegistryError("MANIFEST_INVALID", `manifest invalid: ${z.prettifyError(r.error)}`);
    return {
      mediaType,
      kind: "index",
      blobs: [],
      manifests: r.data.manifests.map(strip),
      subject: r.data.subject ? strip(r.data.subject) : null,
      artifactType: r.data.artifactType,
      annotations: r.data.annotations,
    };
  }
  const r = ImageManifestSchema.safeParse(raw);
  if (!r.success)
    throw new RegistryError("MANIFEST_INVALID", `manifest invalid: ${z.prettifyError(r.error)}`);
  return {
    mediaType,
    kind: "image",
    // Foreign (non-distributable) layers live elsewhere: their `urls` say where.
    blobs: [r.data.config, ...r.data.layers.filter((l) => !l.urls?.length)].map(strip),
    manifests: [],
    subject: r.data.subject ? strip(r.data.subject) : null,
    artifactType: r.data.artifactType ?? r.data.config.mediaType,
    annotations: r.data.annotations,
  };
}
