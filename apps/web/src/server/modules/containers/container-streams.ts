/**
 * The two long-lived container views: `containers.events` (docker-like events: the stored
 * history, then the gateway's live ones) and `containers.statsStream` (one `container.stats` command per running
 * container per interval, never overlapping rounds, so the load on agents stays bounded).
 */
import {
  DomainError,
  eventActionMatches,
  LOG_FLOW_ACK_EVERY,
  logTextFromPacked,
  logTextWeight,
  packLogLines,
  packedWeight,
  rfc3339ToNanos,
  unpackLogLines,
  type ContainerEvent,
  type ContainerLogsInput,
  type LogLine,
  type PackedLogs,
  type LogText,
  type ContainerEventsInput,
  type ContainerStats,
} from "@berth/core";
import {
  and,
  asc,
  containerEvents as eventsTable,
  containers,
  eq,
  gt,
  gte,
  inArray,
  lte,
  type ContainerEventRow,
  type ContainerRow,
  type Db,
} from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";

export interface StreamActor {
  isAdmin: boolean;
  teamId: string;
}

export { dockerActions } from "../../agents/container-events";

/** True when `ref` (id, id prefix of 3+ hex characters, or name) names the container. */
export function refMatches(ref: string, row: Pick<ContainerRow, "id" | "name">): boolean {
  if (ref === row.id || ref === row.name) return true;
  return ref.length >= 3 && /^[0-9a-f]+$/.test(ref) && row.id.startsWith(ref);
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Rows read per query while replaying history. */
const REPLAY_PAGE = 500;

function toContainerEvent(r: ContainerEventRow): ContainerEvent {
  return {
    timeNano: `${r.at.getTime()}000000`,
    type: "container",
    action: r.action,
    id: r.containerId,
    name: r.containerName,
    image: r.image,
    node: r.nodeName,
    ...(r.action === "die" ? { exitCode: r.exitCode } : {}),
  };
}

/**
 * Container events the actor may see (its team's, or all for administrators), optionally only
 * of the containers `input.containers` names and the actions `input.events` names.
 *
 * Without `since`/`until` only live events come. With `since` (or `until` alone: from the oldest
 * kept event) the stored history is replayed in order first, then live events follow: the live
 * subscription starts before the replay, its events are buffered, and after the replay the
 * buffer is drained skipping ids the replay already sent — no gap, no duplicate. With `until`
 * the stream ends at that instant (at once after the replay when it has passed).
 */
export async function* containerEvents(
  db: Db,
  gateway: AgentGateway,
  actor: StreamActor,
  input: ContainerEventsInput,
  signal?: AbortSignal,
): AsyncGenerator<ContainerEvent, void, undefined> {
  const refs = input.containers;
  // Event times are whole milliseconds: at*1e6 >= since ⇔ at >= ceil(since/1e6), and
  // at*1e6 <= until ⇔ at <= floor(until/1e6).
  const sinceNs = input.since !== undefined ? rfc3339ToNanos(input.since) : undefined;
  const untilNs = input.until !== undefined ? rfc3339ToNanos(input.until) : undefined;
  const sinceMs = sinceNs !== undefined ? Number((sinceNs + 999_999n) / 1_000_000n) : undefined;
  const untilMs = untilNs !== undefined ? Number(untilNs / 1_000_000n) : undefined;
  if (sinceMs !== undefined && untilMs !== undefined && untilMs < sinceMs)
    throw new DomainError("invalid_input", "--until must not be before --since");
  const wanted = (r: ContainerEventRow) =>
    (actor.isAdmin || r.teamId === actor.teamId) &&
    (!refs ||
      refs.length === 0 ||
      refs.some((ref) => refMatches(ref, { id: r.containerId, name: r.containerName }))) &&
    eventActionMatches(r.action, input.events) &&
    (sinceMs === undefined || r.at.getTime() >= sinceMs) &&
    (untilMs === undefined || r.at.getTime() <= untilMs);

  const live: ContainerEventRow[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // Live first, so nothing recorded during the replay is missed.
  const unsubscribe = gateway.events.subscribeEvents((r) => {
    if (!wanted(r)) return;
    live.push(r);
    notify();
  });
  signal?.addEventListener("abort", notify, { once: true });
  let untilTimer: NodeJS.Timeout | undefined;
  try {
    let sent = 0; // the highest id sent
    if (sinceMs !== undefined || untilMs !== undefined) {
      const scope = and(
        actor.isAdmin ? undefined : eq(eventsTable.teamId, actor.teamId),
        sinceMs !== undefined ? gte(eventsTable.at, new Date(sinceMs)) : undefined,
        untilMs !== undefined ? lte(eventsTable.at, new Date(untilMs)) : undefined,
      );
      for (;;) {
        const page = db
          .select()
          .from(eventsTable)
          .where(and(scope, gt(eventsTable.id, sent)))
          .orderBy(asc(eventsTable.id))
          .limit(REPLAY_PAGE)
          .all();
        for (const r of page) {
          sent = r.id;
          if (wanted(r)) yield toContainerEvent(r);
          if (signal?.aborted) return;
        }
        if (page.length < REPLAY_PAGE) break;
      }
    }
    if (untilMs !== undefined && untilMs < Date.now()) return;
    for (;;) {
      const next = live.shift();
      if (next !== undefined) {
        if (next.id <= sent) continue; // already replayed
        sent = next.id;
        yield toContainerEvent(next);
        continue;
      }
      if (signal?.aborted) return;
      if (untilMs !== undefined) {
        const left = untilMs - Date.now();
        if (left < 0) return;
        // Armed before every wait: the timer runs on the monotonic clock and may fire while
        // Date.now() still equals `until` (a truncated millisecond, a slewed wall clock); a
        // wait with no timer left would never end.
        clearTimeout(untilTimer);
        untilTimer = setTimeout(notify, left + 1);
      }
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    clearTimeout(untilTimer);
    unsubscribe();
    signal?.removeEventListener("abort", notify);
  }
}

const SAMPLED_STATES: ContainerRow["state"][] = ["running", "paused"];

export interface StatsStreamOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Resolves a ref for the actor (throws not_found); the containers service's `resolve`. */
  resolve(ref: string): ContainerRow;
}

/**
 * Samples the named containers (or every running one the actor sees) about every `intervalMs`:
 * one `container.stats` per container per round, and a round starts only once the previous one
 * answered. Containers that are not running, or whose agent fails to answer, are skipped.
 */
export async function* statsStream(
  db: Db,
  gateway: AgentGateway,
  actor: StreamActor,
  refs: string[] | undefined,
  opts: StatsStreamOptions,
  signal?: AbortSignal,
): AsyncGenerator<{ samples: { id: string; name: string; stats: ContainerStats }[] }, void> {
  // Unknown refs fail up front, with the usual "no container" error.
  const ids = refs && refs.length > 0 ? [...new Set(refs.map((r) => opts.resolve(r).id))] : null;
  const scope = actor.isAdmin ? undefined : eq(containers.teamId, actor.teamId);
  while (!signal?.aborted) {
    const started = Date.now();
    const rows = db
      .select()
      .from(containers)
      .where(
        and(
          scope,
          inArray(containers.state, SAMPLED_STATES),
          ids ? inArray(containers.id, ids) : undefined,
        ),
      )
      .all();
    const answers = await Promise.all(
      rows.map(async (row) => {
        try {
          const stats = await gateway.send(
            row.nodeId,
            "container.stats",
            { containerId: row.id },
            { timeoutMs: opts.timeoutMs },
          );
          return { id: row.id, name: row.name, stats };
        } catch (e) {
          if (e instanceof DomainError) return null; // exited meanwhile, node offline...
          throw e;
        }
      }),
    );
    if (signal?.aborted) return;
    const order = ids ?? rows.map((r) => r.id);
    const samples = answers
      .filter((a): a is NonNullable<typeof a> => a !== null)
      .sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    yield { samples };
    await pause(Math.max(0, opts.intervalMs - (Date.now() - started)), signal);
  }
}

/**
 * A chunk of `containers.logs`: `{text}` or `{packed}` when the caller asked for it, else
 * `{lines}`.
 */
export type LogChunk =
  | { lines: LogLine[]; packed?: undefined; text?: undefined }
  | { packed: PackedLogs; lines?: undefined; text?: undefined }
  | { text: LogText; lines?: undefined; packed?: undefined };

/**
 * Relays a container's log from its agent. The agent is always asked for packed batches (the
 * fast path: a few strings per batch instead of an object per line); callers that did not ask
 * for `packed` get `{lines}`, and packed readers without times that asked for `text` get
 * `{text}` batches (log-text.ts: the agent copies the records' texts, nothing per line). The
 * agent applies tail, since/until, the stream filter and the
 * search while it reads its files. Leaving the generator (or aborting `signal`) cancels the
 * agent's stream.
 */
export async function* containerLogs(
  gateway: Pick<AgentGateway, "stream" | "streamInput">,
  row: Pick<ContainerRow, "id" | "nodeId">,
  input: ContainerLogsInput,
  signal?: AbortSignal,
): AsyncGenerator<LogChunk, void, undefined> {
  const asText = input.packed === true && input.timestamps === false && input.text === true;
  const params = {
    containerId: row.id,
    follow: input.follow,
    packed: true,
    flow: true,
    // Times are dropped only for packed readers that asked for none; `{lines}` always has them.
    ...(input.packed && input.timestamps === false ? { timestamps: false } : {}),
    // Text batches for packed readers without times that asked (the CLI, the download).
    ...(asText ? { text: true } : {}),
    ...(input.tail === undefined ? {} : { tail: input.tail }),
    ...(input.since === undefined ? {} : { since: input.since }),
    ...(input.until === undefined ? {} : { until: input.until }),
    ...(input.stream === undefined ? {} : { stream: input.stream }),
    ...(input.grep === undefined ? {} : { grep: input.grep }),
  };
  // Flow control: the agent stays within LOG_FLOW_WINDOW of what we acknowledge, and we
  // acknowledge a batch only once our reader took it (the generator resumed after the yield).
  // A slow reader (SSE client, download) therefore slows the agent's file read; the server
  // holds at most about a window per stream.
  let streamId: string | undefined;
  let consumed = 0;
  let acked = 0;
  const stream = gateway.stream(row.nodeId, "container.logs", params, signal, {
    onOpen: (id) => (streamId = id),
  });
  for await (const chunk of stream) {
    if (asText) {
      // An older agent ignores `text` and answers packed batches: same output, converted here.
      if (chunk.text) yield { text: chunk.text };
      else if (chunk.packed) yield { text: logTextFromPacked(chunk.packed) };
      else if (chunk.lines) yield { text: logTextFromPacked(packLogLines(chunk.lines)) };
    } else if (input.packed) {
      if (chunk.packed) yield { packed: chunk.packed };
      else if (chunk.lines) yield { packed: packLogLines(chunk.lines) };
    } else {
      yield { lines: chunk.lines ?? (chunk.packed ? unpackLogLines(chunk.packed) : []) };
    }
    const weight = chunk.text
      ? logTextWeight(chunk.text)
      : chunk.packed
        ? packedWeight(chunk.packed)
        : null;
    if (weight !== null && streamId !== undefined) {
      consumed += weight;
      if (consumed - acked >= LOG_FLOW_ACK_EVERY) {
        acked = consumed;
        try {
          gateway.streamInput(row.nodeId, streamId, { ack: consumed });
        } catch (e) {
          // The stream ended meanwhile: nothing left to acknowledge.
          if (!(e instanceof DomainError)) throw e;
        }
      }
    }
  }
}
