/**
 * Streaming views of containers: `containers.statsStream` samples and `containers.events`
 * (docker-like container events), shared by the server's router and the CLI.
 */
import { z } from "zod";
import { ContainerStatsSchema, LogTimeSchema } from "./container";
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
  /**
   * Only these actions (`--filter event=die`); `health_status` matches every
   * `health_status: <status>`, as docker matches the part before the colon.
   */
  events: z.array(z.string().min(1).max(64)).max(32).optional(),
  /** Replay stored events from this instant (RFC 3339), then keep streaming live ones. */
  since: LogTimeSchema.optional(),
  /** Stop at this instant: replay up to it, and end the stream once it has passed. */
  until: LogTimeSchema.optional(),
});
export type ContainerEventsInput = z.infer<typeof ContainerEventsInputSchema>;

/** Epoch nanoseconds of an RFC 3339 instant with a zone (a LogTimeSchema value), exactly. */
export function rfc3339ToNanos(t: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(t);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) throw new Error(`not an RFC 3339 instant: ${JSON.stringify(t)}`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** True when an event's action passes `--filter event=` values (none given: every action). */
export function eventActionMatches(action: string, wanted: readonly string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  const head = action.split(":")[0]!;
  return wanted.some((w) => w === action || w === head);
}

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
