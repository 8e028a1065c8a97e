/**
 * A new image that shares another's layers with a changed config (what `docker commit
 * --change` does without a new layer): the config and manifest are written to the content
 * store and `toRef` is tagged. Used by tests to make images carrying a HEALTHCHECK,
 * STOPSIGNAL… on top of the busybox seed without a registry or a builder.
 */
import type { ImageStore } from "./image-store";
import { ImageConfigSchema, ManifestSchema, MEDIA_TYPE_CONFIG, type ImageConfig } from "./oci";

export async function deriveImage(
  store: ImageStore,
  fromRef: string,
  toRef: string,
  update: (config: ImageConfig) => ImageConfig,
): Promise<string> {
  const base = await store.resolve(fromRef);
  const config = ImageConfigSchema.parse(update(structuredClone(base.config)));
  const configBlob = Buffer.from(JSON.stringify(config));
  const configDigest = await store.content.put(configBlob);
  const manifest = ManifestSchema.parse({
    ...base.manifest,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: configBlob.length },
  });
  const digest = await store.content.put(Buffer.from(JSON.stringify(manifest)));
  await store.tag(toRef, digest);
  return digest;
}
