/**
 * Streaming views of containers: `containers.statsStream` samples and `containers.events`
 * (docker-like container events), shared by the server's router and the CLI.
 */
import { z } from "zod";
import { ContainerStatsSchema } from "./container";
import { ContainerIdSchema } from "./ids";

const RefListSchema = z.array(z.string().min(1).max(128)).max(100);

export const ContainerStatsStreamInputSchema = z.object({
  /** Containers to sample (ids, id prefixes or names); all running ones the caller sees when absent. */
  refs: RefListSchema.optional(),
});

/** One round of samples, about one per second; containers that are not running are skipped. */
export const ContainerStatsStreamSampleSchema = z.object({
  samples: z.array(
    z.object({ id: ContainerIdSchema, name: z.string(), stats: ContainerStatsSchema }),
  ),
});
export type ContainerStatsStreamSample = z.infer<typeof ContainerStatsStreamSampleSchema>;

export const ContainerEventsInputSchema = z.object({
  /** Only events of these containers (ids, id prefixes or names), like `--filter container=X`. */
  containers: RefListSchema.optional(),
});

/** A docker-like container event. `action` is docker's: create, start, die, oom, destroy... */
export const ContainerEventSchema = z.object({
  /** Epoch nanoseconds as a decimal string (docker's timeNano), so no precision is lost. */
  timeNano: z.string().regex(/^[0-9]+$/),
  type: z.literal("container"),
  action: z.string().min(1),
  id: ContainerIdSchema,
  name: z.string(),
  image: z.string(),
  node: z.string(),
  exitCode: z.number().int().nullable().optional(),
});
export type ContainerEvent = z.infer<typeof ContainerEventSchema>;
