/**
 * `berth events`: container events, docker's line format
 * (`2026-11-27T20:40:01.123456789Z container die 3f2a… (exitCode=0, image=busybox, name=web)`)
 * or `--json` (docker's `--format '{{json .}}'` shape). Live events until Ctrl-C; `--since`
 * replays the server's stored history first (kept 7 days, at most 100k events), `--until` ends
 * the stream at that time (at once when it has passed).
 */
import type { ContainerEvent, ContainerEventsInput } from "@berth/core";
import { type Command } from "commander";
import { withApi, type CliContext } from "../context";
import { UsageError } from "../errors";
import { type GlobalFlags } from "./global-flags";
import { parseLogTime } from "./log-time";

/** Epoch nanoseconds (decimal string) as RFC 3339 UTC with nine fractional digits. */
export function rfc3339Nano(timeNano: string): string {
  const ns = BigInt(timeNano);
  const seconds = ns / 1_000_000_000n;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, "0");
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${base}.${fraction}Z`;
}

/** The event's attributes, docker's (sorted by key, values as strings). */
export function eventAttributes(e: ContainerEvent): Record<string, string> {
  const attrs: Record<string, string> = {};
  if (e.exitCode !== undefined && e.exitCode !== null) attrs.exitCode = String(e.exitCode);
  attrs.image = e.image;
  attrs.name = e.name;
  attrs.node = e.node;
  return attrs;
}

/** docker events' line: time, type, action, full id, then the attributes in parentheses. */
export function formatEventLine(e: ContainerEvent): string {
  const attrs = Object.entries(eventAttributes(e))
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  return `${rfc3339Nano(e.timeNano)} ${e.type} ${e.action} ${e.id} (${attrs})`;
}

/** docker's JSON event message (`docker events --format '{{json .}}'`). */
export function eventJson(e: ContainerEvent): string {
  const ns = BigInt(e.timeNano);
  return JSON.stringify({
    status: e.action,
    id: e.id,
    from: e.image,
    Type: e.type,
    Action: e.action,
    Actor: { ID: e.id, Attributes: eventAttributes(e) },
    scope: "local",
    time: Number(ns / 1_000_000_000n),
    timeNano: Number(ns),
  });
}

/** `--filter key=value` values: `container=` (name or id) and `event=` (an action). */
export function parseEventFilters(filters: string[]): { containers: string[]; events: string[] } {
  const out = { containers: [] as string[], events: [] as string[] };
  for (const f of filters) {
    const eq = f.indexOf("=");
    const key = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? "" : f.slice(eq + 1);
    if (key !== "container" && key !== "event")
      throw new UsageError(
        `unsupported filter "${f}"`,
        "berth events supports --filter container=NAME_OR_ID and --filter event=ACTION",
      );
    if (value === "")
      throw new UsageError(`filter "${f}" needs a value`, "e.g. container=web or event=die");
    (key === "container" ? out.containers : out.events).push(value);
  }
  return out;
}

/** The `containers.events` input for the command's flags; `now` anchors relative times. */
export function eventsInput(
  flags: { since?: string; until?: string; filter: string[] },
  now: Date,
): ContainerEventsInput {
  const { containers, events } = parseEventFilters(flags.filter);
  const input: ContainerEventsInput = {};
  if (containers.length > 0) input.containers = containers;
  if (events.length > 0) input.events = events;
  if (flags.since !== undefined) input.since = parseLogTime(flags.since, "--since", now);
  if (flags.until !== undefined) input.until = parseLogTime(flags.until, "--until", now);
  if (
    input.since !== undefined &&
    input.until !== undefined &&
    new Date(input.since).getTime() > new Date(input.until).getTime()
  )
    throw new UsageError("--until must not be before --since");
  return input;
}

export function registerEventsCommand(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("events")
    .description("Get container events from the server (live until Ctrl-C, or a stored window)")
    .usage("[OPTIONS]")
    .option(
      "--since <time>",
      "replay events since this time (RFC 3339, Unix seconds or a duration like 10m), then follow",
    )
    .option("--until <time>", "stop at this time (same formats as --since)")
    .option(
      "-f, --filter <filter>",
      "filter events (container=NAME_OR_ID, event=ACTION; repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--json", "print each event as one JSON object per line")
    .action(async (flags: { since?: string; until?: string; filter: string[]; json?: boolean }) => {
      const input = eventsInput(flags, new Date(ctx.now()));
      const stop = new AbortController();
      const offInterrupt = ctx.onInterrupt?.(() => stop.abort());
      try {
        await withApi(ctx, globals(), {}, (api) =>
          api.streamEvents(
            input,
            (e) => ctx.stdout.write(`${flags.json ? eventJson(e) : formatEventLine(e)}\n`),
            stop.signal,
          ),
        );
      } finally {
        offInterrupt?.();
      }
    });
}
