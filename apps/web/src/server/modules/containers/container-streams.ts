/**
 * The two long-lived container views: `containers.events` (docker-like events built from the
 * gateway's change bus) and `containers.statsStream` (one `container.stats` command per running
 * container per interval, never overlapping rounds, so the load on agents stays bounded).
 */
import { DomainError, type ContainerEvent, type ContainerStats } from "@berth/core";
import { and, containers, eq, inArray, nodes, type ContainerRow, type Db } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import type { ContainerChange } from "../../agents/container-events";

export interface StreamActor {
  isAdmin: boolean;
  teamId: string;
}

/** The docker action(s) for one change; changes that no agent event caused yield none. */
export function dockerActions(change: ContainerChange): string[] {
  if (change.type === "removed") return change.row ? ["destroy"] : [];
  switch (change.event) {
    case "container.created":
      return ["create"];
    case "container.started":
      return ["start"];
    case "container.exited":
      return change.row.oomKilled ? ["oom", "die"] : ["die"];
    case "container.paused":
      return ["pause"];
    case "container.unpaused":
      return ["unpause"];
    case "container.health_status":
      return change.row.health ? [`health_status: ${change.row.health.status}`] : [];
    default:
      return [];
  }
}

/** True when `ref` (id, id prefix of 3+ hex characters, or name) names the container. */
export function refMatches(ref: string, row: Pick<ContainerRow, "id" | "name">): boolean {
  if (ref === row.id || ref === row.name) return true;
  return ref.length >= 3 && /^[0-9a-f]+$/.test(ref) && row.id.startsWith(ref);
}

function nowNano(): string {
  return `${Date.now()}000000`;
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

/**
 * Live container events the actor may see (its team's, or all for administrators), optionally
 * only of the containers `refs` names. Ends when `signal` aborts.
 */
export async function* containerEvents(
  db: Db,
  gateway: AgentGateway,
  actor: StreamActor,
  refs: string[] | undefined,
  signal?: AbortSignal,
): AsyncGenerator<ContainerEvent, void, undefined> {
  const queue: ContainerEvent[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const nodeNames = new Map<string, string>();
  const nodeName = (id: string) => {
    let name = nodeNames.get(id);
    if (name === undefined) {
      name = db.select({ name: nodes.name }).from(nodes).where(eq(nodes.id, id)).get()?.name ?? id;
      nodeNames.set(id, name);
    }
    return name;
  };
  const unsubscribe = gateway.events.subscribeAll((change) => {
    const row = change.row;
    if (!row) return;
    if (!actor.isAdmin && row.teamId !== actor.teamId) return;
    if (refs && refs.length > 0 && !refs.some((r) => refMatches(r, row))) return;
    const timeNano = nowNano();
    for (const action of dockerActions(change)) {
      queue.push({
        timeNano,
        type: "container",
        action,
        id: row.id,
        name: row.name,
        image: row.image,
        node: nodeName(row.nodeId),
        ...(action === "die" ? { exitCode: row.exitCode } : {}),
      });
    }
    if (queue.length > 0) notify();
  });
  signal?.addEventListener("abort", notify, { once: true });
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (signal?.aborted) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
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
