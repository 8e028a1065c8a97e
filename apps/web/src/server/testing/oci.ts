/** OCI image pieces the registry tests push: digests and a v1 image manifest. */
import { createHash } from "node:crypto";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** The `sha256:<hex>` digest of `b`. */
export const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** An OCI image manifest (as bytes) for `config` and `layers`, with `extra` fields appended. */
export function ociManifest(
  config: Buffer,
  layers: Buffer[],
  opts: { layerMediaType?: string; extra?: Record<string, unknown> } = {},
): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha(config),
        size: config.length,
      },
      layers: layers.map((l) => ({
        mediaType: opts.layerMediaType ?? "application/vnd.oci.image.layer.v1.tar",
        digest: sha(l),
        size: l.length,
      })),
      ...opts.extra,
    }),
  );
}
