/**
 * `save`, `load` and `image import`: what moves image archives between the CLI, berth-server and
 * a node. The archive bytes travel as base64 chunks of stream commands (`image.save` answers
 * with them; `image.load` / `image.import` receive them in `stream_input` frames, acknowledged
 * by `{received}` chunks so the server never has more than a window in flight).
 */
import { z } from "zod";
import { EnvVarSchema, ImageRefSchema } from "./container";

/** Largest decoded payload of one `image.save` chunk. */
export const IMAGE_SAVE_CHUNK_BYTES = 256 * 1024;
/** Most `image.save` bytes the agent sends ahead of the server's last `ack`. */
export const IMAGE_SAVE_WINDOW_BYTES = 8 * 1024 * 1024;
/** Most archive bytes the server sends ahead of the agent's last `{received}` acknowledgement. */
export const IMAGE_UPLOAD_WINDOW_BYTES = 8 * 1024 * 1024;
/** The agent acknowledges at least every this many bytes it has consumed. */
export const IMAGE_UPLOAD_ACK_BYTES = 1024 * 1024;

/** `image import --change`: the Dockerfile instructions that may change an imported image. */
export const ImageChangesSchema = z.object({
  cmd: z.array(z.string().max(65_536)).max(4096).optional(),
  entrypoint: z.array(z.string().max(65_536)).max(4096).optional(),
  env: z.array(EnvVarSchema).max(4096).optional(),
  workdir: z.string().max(4096).startsWith("/", "WORKDIR must be absolute").optional(),
});
export type ImageChanges = z.infer<typeof ImageChangesSchema>;

export const LoadedImageSchema = z.object({
  /** Familiar reference tagged, or null for an image the archive does not name. */
  ref: z.string().nullable(),
  digest: z.string(),
});
export type LoadedImage = z.infer<typeof LoadedImageSchema>;

/** One chunk of `image.save`: archive bytes, base64. */
export const ImageSaveChunkSchema = z.object({
  data: z.base64("data must be base64").max(Math.ceil(IMAGE_SAVE_CHUNK_BYTES / 3) * 4),
});

/** One chunk of `image.load` / `image.import`: bytes consumed so far, then the result. */
export const ImageUploadChunkSchema = z.object({
  received: z.number().int().nonnegative().optional(),
  loaded: z.array(LoadedImageSchema).max(4096).optional(),
});
export type ImageUploadChunk = z.infer<typeof ImageUploadChunkSchema>;

function words(rest: string): string[] {
  return rest.split(/\s+/).filter((w) => w !== "");
}

/** `["a", "b"]` (exec form) or a shell string (shell form, run by /bin/sh -c). */
function commandForm(rest: string, what: string): string[] {
  const t = rest.trim();
  if (t.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw new Error(`${what}: invalid JSON array ${t}`);
    }
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
      throw new Error(`${what}: the exec form is a JSON array of strings`);
    return v as string[];
  }
  if (t === "") throw new Error(`${what} needs a command`);
  return ["/bin/sh", "-c", t];
}

/**
 * Folds `--change` lines (`CMD ["sh"]`, `ENTRYPOINT …`, `ENV K=V` / `ENV K V`, `WORKDIR /x`)
 * into ImageChanges, as `docker import --change` does. Throws Error with a readable message.
 */
export function parseImageChanges(lines: readonly string[]): ImageChanges {
  const out: ImageChanges = {};
  for (const line of lines) {
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(line);
    if (!m) throw new Error(`invalid --change ${JSON.stringify(line)}`);
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!;
    switch (instr) {
      case "CMD":
        out.cmd = commandForm(rest, "CMD");
        break;
      case "ENTRYPOINT":
        out.entrypoint = commandForm(rest, "ENTRYPOINT");
        break;
      case "ENV": {
        const env = out.env ?? [];
        const w = words(rest);
        if (w.length === 0) throw new Error("ENV needs KEY=VALUE");
        if (w[0]!.includes("=")) env.push(...w);
        else env.push(`${w[0]}=${rest.trim().slice(w[0]!.length).trim()}`);
        out.env = env;
        break;
      }
      case "WORKDIR":
        out.workdir = rest.trim();
        break;
      default:
        throw new Error(`--change supports CMD, ENTRYPOINT, ENV and WORKDIR, not ${instr}`);
    }
  }
  return ImageChangesSchema.parse(out);
}

/**
 * `image.build`: a Dockerfile build whose context tar arrives like `image.load`'s archive
 * (`stream_input` frames, acknowledged by `{received}`). Build args are bounded like docker's.
 */
export const ImageBuildParamsSchema = z.object({
  /** `-t NAME:TAG` (repeatable). */
  tags: z.array(ImageRefSchema).max(32).default([]),
  /** The Dockerfile's path inside the context. */
  dockerfile: z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), {
      message: "the Dockerfile path is relative to the context and stays inside it",
    })
    .default("Dockerfile"),
  buildArgs: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "build arg names are [A-Za-z_][A-Za-z0-9_]*")
        .max(256),
      z.string().max(65_536),
    )
    .default({}),
  target: z.string().min(1).max(256).optional(),
  /** RUN on the host network (`--network host`): an admin's choice. */
  allowHostNetwork: z.boolean().default(false),
  /**
   * The images (ids) of the node's store the build may start from (FROM, COPY --from): those
   * of the building team (the server's claims). Another one is treated as missing. Absent: any
   * (administrators).
   */
  images: z
    .array(z.string().regex(/^sha256:[0-9a-f]{64}$/, "an image id (sha256:…)"))
    .max(10_000)
    .optional(),
});
export type ImageBuildParams = z.infer<typeof ImageBuildParamsSchema>;

export const ImageBuildResultSchema = z.object({
  digest: z.string(),
  tags: z.array(z.string()),
  steps: z
    .array(
      z.object({ line: z.number().int(), text: z.string(), cached: z.boolean(), ms: z.number() }),
    )
    .max(10_000),
  warnings: z.array(z.string().max(8192)).max(1000),
});
export type ImageBuildResult = z.infer<typeof ImageBuildResultSchema>;

/** One chunk of `image.build`: context bytes consumed, a progress line, or the result. */
export const ImageBuildChunkSchema = z.object({
  received: z.number().int().nonnegative().optional(),
  /** A line to show, as docker's build output prints it (`#5 [2/4] RUN …`, `#5 CACHED`). */
  progress: z.string().max(65_536).optional(),
  built: ImageBuildResultSchema.optional(),
});
export type ImageBuildChunk = z.infer<typeof ImageBuildChunkSchema>;
