/**
 * `berth events`: live container events, docker's line format
 * (`2026-11-27T20:40:01.123456789Z container die 3f2a… (exitCode=0, image=busybox, name=web)`)
 * or `--json` (docker's `--format '{{json .}}'` shape), until Ctrl-C. Only live events: `--since`
 * and `--until` are refused, there is no event history to replay yet.
 */
import type { ContainerEvent } from "@berth/core";
import { type Command } from "commander";
import { withApi, type CliContext } from "../context";
import { UsageError } from "../errors";
import { type GlobalFlags } from "./global-flags";

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

/** `--filter key=value` values: only `container=` is supported; answers the container refs. */
export function parseEventFilters(filters: string[]): string[] {
  const refs: string[] = [];
  for (const f of filters) {
    const eq = f.indexOf("=");
    const key = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? "" : f.slice(eq + 1);
    if (key !== "container")
      throw new UsageError(
        `unsupported filter "${f}"`,
        "berth events supports --filter container=NAME_OR_ID",
      );
    if (value === "") throw new UsageError(`filter "${f}" needs a value`, "e.g. container=web");
    refs.push(value);
  }
  return refs;
}

export function registerEventsCommand(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("events")
    .description("Get live container events from the server (until Ctrl-C)")
    .usage("[OPTIONS]")
    .option("--since <time>", "not supported yet: berth events shows live events only")
    .option("--until <time>", "not supported yet: berth events shows live events only")
    .option(
      "-f, --filter <filter>",
      "filter events (container=NAME_OR_ID; repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--json", "print each event as one JSON object per line")
    .action(async (flags: { since?: string; until?: string; filter: string[]; json?: boolean }) => {
      if (flags.since !== undefined || flags.until !== undefined)
        throw new UsageError(
          "--since and --until are not supported yet: there is no event history to replay",
          "run `berth events` without them to follow live events",
        );
      const refs = parseEventFilters(flags.filter);
      const stop = new AbortController();
      const offInterrupt = ctx.onInterrupt?.(() => stop.abort());
      try {
        await withApi(ctx, globals(), {}, (api) =>
          api.streamEvents(
            refs.length > 0 ? { containers: refs } : {},
            (e) => ctx.stdout.write(`${flags.json ? eventJson(e) : formatEventLine(e)}\n`),
            stop.signal,
          ),
        );
      } finally {
        offInterrupt?.();
      }
    });
}
