/**
 * Registry transfers (`image.pull`, `image.push`) and registry credentials, shared by the agent
 * protocol, the API and the CLI. A credential travels server → agent inside one command and is
 * never stored by the agent nor echoed in a result, a chunk or a log line.
 */
import { z } from "zod";
import { ImageRefSchema } from "./container";
import { IdSchema } from "./ids";
import { ImageRefOrIdSchema } from "./image";

/** A registry host as references spell it: `host`, `host:port`, `[v6]:port`. */
export const RegistryHostSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]{1,5})?$/,
    "a registry is host[:port] (e.g. registry.example.com or 127.0.0.1:5000)",
  );

/**
 * Username + password (or access token as password), or an OAuth2 identity (refresh) token —
 * or, for berth-server's own registry, `onBehalfOfTeam` (no secret): the agent authenticates
 * with its node credential and gets what that team may pull, never more.
 */
export const RegistryCredentialSchema = z.union([
  z.strictObject({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(4096),
  }),
  z.strictObject({ identityToken: z.string().min(1).max(65_536) }),
  z.strictObject({ onBehalfOfTeam: IdSchema }),
]);
export type RegistryCredentialBody = z.infer<typeof RegistryCredentialSchema>;

/** What `container.run`/`create` carry so the node can pull an image it lacks. */
export const ImagePullAuthSchema = z.strictObject({
  credential: RegistryCredentialSchema.optional(),
});

const DigestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, "digests are sha256:<64 hex>");

/** One blob's progress during a pull or push, enough for a bar per layer. */
export const TransferProgressSchema = z.object({
  digest: DigestSchema,
  kind: z.enum(["manifest", "config", "layer"]),
  status: z.enum(["waiting", "exists", "downloading", "uploading", "mounted", "retrying", "done"]),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export type TransferProgressBody = z.infer<typeof TransferProgressSchema>;

/**
 * One chunk of an `image.pull` / `image.push` stream: progress of some blobs (latest state of
 * each), or — last — the result: the image's manifest digest and the normalized reference.
 */
export const ImageTransferChunkSchema = z.object({
  progress: z.array(TransferProgressSchema).max(1024).optional(),
  digest: DigestSchema.optional(),
  ref: z.string().max(512).optional(),
});
export type ImageTransferChunk = z.infer<typeof ImageTransferChunkSchema>;

const DOCKER_HUB_ALIASES = new Set(["index.docker.io", "registry-1.docker.io"]);

/** `index.docker.io` and `registry-1.docker.io` are `docker.io`; hosts are case-insensitive. */
export function normalizeRegistryHost(host: string): string {
  const h = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(h) ? "docker.io" : h;
}

/**
 * The registry a reference names, as Docker decides it: the first path component when it has a
 * `.` or a `:`, is `localhost`, or has capitals; otherwise Docker Hub (`docker.io`).
 */
export function registryOfReference(ref: string): string {
  const name = ref.split("@")[0]!;
  const slash = name.indexOf("/");
  if (slash < 0) return "docker.io";
  const first = name.slice(0, slash);
  const isHost =
    first.includes(".") ||
    first.includes(":") ||
    first === "localhost" ||
    first !== first.toLowerCase();
  return isHost ? normalizeRegistryHost(first) : "docker.io";
}

// ---- API inputs (registries.*, images.pull / images.push) ----

export const RegistryLoginInputSchema = z.object({
  registry: RegistryHostSchema,
  username: z.string().min(1).max(256),
  password: z.string().min(1, "the password is empty").max(4096),
});
export type RegistryLoginInput = z.infer<typeof RegistryLoginInputSchema>;

export const RegistryLogoutInputSchema = z.object({ registry: RegistryHostSchema });

const NodeRefInput = z.string().min(1).max(128);

export const ImagePullInputSchema = z.object({
  ref: ImageRefSchema,
  node: NodeRefInput.optional(),
});
export type ImagePullInput = z.infer<typeof ImagePullInputSchema>;

export const ImagePushInputSchema = z.object({
  source: ImageRefOrIdSchema,
  target: ImageRefSchema,
  node: NodeRefInput.optional(),
});
export type ImagePushInput = z.infer<typeof ImagePushInputSchema>;

/** A chunk of `images.pull` / `images.push` as the API relays it (plus the node on the result). */
export const ImageTransferViewChunkSchema = ImageTransferChunkSchema.extend({
  nodeName: z.string().max(255).optional(),
});
export type ImageTransferViewChunk = z.infer<typeof ImageTransferViewChunkSchema>;
