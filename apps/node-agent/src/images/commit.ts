/**
 * `commit`: a container's read-write layer (its overlay upper dir) on top of the image it was
 * created from becomes a new image — one more layer (deletions as OCI whiteouts, opaque
 * directories marked, as the build executor writes layers), the image's config with the
 * `--change` lines applied, a history entry, and the reference tagged when one is given.
 */
import { join } from "node:path";
import { DomainError, type ImageChanges } from "@berth/core";
import { commitUpperLayer } from "./build/layer-diff";
import { sha256Digest } from "./content-store";
import type { ImageStore, ResolvedImage } from "./image-store";
import {
  ImageConfigSchema,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_MANIFEST,
  type ImageConfig,
  type Manifest,
} from "./oci";
import { parseReference } from "./reference";

export interface CommitOptions {
  /** The container's overlay upper dir (its changes to the image). */
  upper: string;
  /** A directory on the same filesystem as the content store for the temp layer file. */
  tmpDir: string;
  base: ResolvedImage;
  ref?: string | undefined;
  changes?: ImageChanges | undefined;
  comment?: string | undefined;
  author?: string | undefined;
  /** Shown as the history entry's `created_by`, like docker's. */
  createdBy: string;
  now?: Date;
}

/** Applies `--change` lines to an image config: CMD/ENTRYPOINT/WORKDIR replace, ENV merges by key. */
export function applyImageChanges(
  config: NonNullable<ImageConfig["config"]>,
  c: ImageChanges,
): NonNullable<ImageConfig["config"]> {
  const out = { ...config };
  if (c.env !== undefined) {
    const env = [...(out.Env ?? [])];
    for (const kv of c.env) {
      const key = kv.slice(0, kv.indexOf("=") + 1);
      const i = env.findIndex((e) => e.startsWith(key));
      if (i >= 0) env[i] = kv;
      else env.push(kv);
    }
    out.Env = env;
  }
  if (c.entrypoint !== undefined) out.Entrypoint = c.entrypoint;
  if (c.cmd !== undefined) out.Cmd = c.cmd;
  if (c.workdir !== undefined) out.WorkingDir = c.workdir;
  return out;
}

export async function commitContainer(
  store: ImageStore,
  o: CommitOptions,
): Promise<{ digest: string; ref: string | null }> {
  if (o.ref !== undefined && parseReference(o.ref).digest !== undefined)
    throw new DomainError("invalid_input", `cannot commit to a digest reference (${o.ref})`);
  const now = (o.now ?? new Date()).toISOString();
  const layer = await commitUpperLayer(
    o.upper,
    join(o.tmpDir, `.commit-${sha256Digest(Buffer.from(now + o.upper)).slice(7, 23)}.tar.gz`),
    store.content,
  );
  const base = o.base.config;
  const config: ImageConfig = ImageConfigSchema.parse({
    ...base,
    created: now,
    ...(o.author === undefined ? {} : { author: o.author }),
    config: applyImageChanges(base.config ?? {}, o.changes ?? {}),
    rootfs: { type: "layers", diff_ids: [...base.rootfs.diff_ids, layer.diffId] },
    history: [
      ...(base.history ?? []),
      {
        created: now,
        created_by: o.createdBy,
        ...(o.comment === undefined ? {} : { comment: o.comment }),
        ...(o.author === undefined ? {} : { author: o.author }),
      },
    ],
  });
  const configBlob = Buffer.from(JSON.stringify(config));
  const configDigest = await store.content.put(configBlob);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: configBlob.length },
    layers: [
      ...o.base.manifest.layers,
      { mediaType: MEDIA_TYPE_LAYER_GZIP, digest: layer.digest, size: layer.size },
    ],
  };
  const digest = await store.content.put(Buffer.from(JSON.stringify(manifest)));
  if (o.ref !== undefined) await store.tag(o.ref, digest);
  return { digest, ref: o.ref ?? null };
}
