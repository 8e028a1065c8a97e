/**
 * Containers: names, refs, node selection, and the commands that make agents run, stop and
 * remove them. Rows are the server's view; the agents' results and events keep them current.
 */
import type { z } from "zod";
import {
  DomainError,
  newContainerId,
  parseImageChanges,
  type CommitContainerInputSchema,
  type ImageChanges,
  registryOfReference,
  type ContainerLimits,
  type ContainerSpec,
  type CommandParamsInput,
  type ContainerState,
  type ContainerStats,
  type ContainerStatus,
  type Health,
  type RestartPolicy,
  type LogConfig,
  type ContainerExecInput,
  type ExecSessionInput,
  type ContainerEventsInput,
  type ContainerLogsInput,
} from "@berth/core";
import {
  and,
  containers,
  desc,
  eq,
  inArray,
  like,
  nodes,
  users,
  type ContainerRow,
  type Db,
} from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import { applyContainerStatus } from "../../agents/container-state";
import type { ContainerChange } from "../../agents/container-events";
import { containerCountsByNode, NodesService } from "../nodes/nodes.service";
import { generateContainerName } from "./container-names";
import { containerEvents, containerLogs, statsStream, type LogChunk } from "./container-streams";
import {
  containerExec,
  execInput,
  ExecSessions,
  type ExecChunk,
  type ExecDeps,
} from "./container-exec";
import { registryAuthError, type RegistriesService } from "../registries/registries.service";
import { stampAttribution } from "../usage/usage-ingest";
import { assertVolumesUsable, recordContainerVolumes } from "../volumes/volume-owners";

export interface Actor {
  id: string;
  username: string;
  isAdmin: boolean;
  teamId: string;
}

export interface ContainerView {
  id: string;
  shortId: string;
  name: string;
  image: string;
  command: string[] | null;
  state: ContainerState;
  exitCode: number | null;
  oomKilled: boolean;
  error: string | null;
  nodeId: string;
  nodeName: string;
  teamId: string;
  createdBy: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  autoRemove: boolean;
  limits: ContainerLimits;
  restartPolicy: RestartPolicy;
  /** `--log-opt max-size/max-file`; null = the log is not rotated. */
  logConfig: LogConfig | null;
  restartCount: number;
  health: Health | null;
}

export interface RunInput {
  name?: string;
  node?: string;
  spec: ContainerSpec;
  autoRemove: boolean;
}

/** States in which a container is still alive; `wait` returns once it leaves them. */
const ALIVE: ReadonlySet<ContainerState> = new Set(["creating", "running", "paused", "stopping"]);
const ACTIVE_FOR_LIST: ContainerState[] = ["running", "paused", "creating"];

const RUN_TIMEOUT_MS = 10 * 60_000; // includes pulling the image
const LIFECYCLE_TIMEOUT_MS = 60_000;
/** Writing a big read-write layer takes a while. */
const COMMIT_TIMEOUT_MS = 10 * 60_000;
/** `wait` also waits for a created container to run and exit, as docker's does. */
const WAIT_WHILE: ReadonlySet<ContainerState> = new Set([...ALIVE, "created"]);
const REMOVE_TIMEOUT_MS = 60_000;
const UPDATE_TIMEOUT_MS = 60_000;
const STATS_TIMEOUT_MS = 30_000;
const STATS_STREAM_INTERVAL_MS = 1000;
export const WAIT_LIMIT_MS = 10 * 60_000;

function isUniqueViolation(e: unknown): boolean {
  return e instanceof Error && /UNIQUE constraint failed: containers\.name/.test(e.message);
}

export class ContainersService {
  private readonly nodes: NodesService;
  /** Interactive exec sessions (`exec -i/-t`) open on this server, for `execInput`. */
  private readonly execSessions = new ExecSessions();
  /** Checks (and rewrites) a run's `--network` on its node: networks.service.ts checkRun. */
  private networkCheck:
    | ((actor: Actor, nodeId: string, spec: RunInput["spec"]) => Promise<RunInput["spec"]>)
    | undefined;
  /** Records interactive exec sessions when enabled (modules/recordings). */
  private sessionRecorder: ExecDeps["recordings"];

  constructor(
    private readonly db: Db,
    private readonly gateway: AgentGateway,
    /** The team's registry credentials, attached to run/create so a missing image is pulled. */
    private readonly registries?: Pick<RegistriesService, "credentialForImage">,
    private readonly waitLimitMs = WAIT_LIMIT_MS,
  ) {
    this.nodes = new NodesService(db);
  }

  /** Set once by services.ts: where interactive exec sessions are recorded. */
  setSessionRecorder(recorder: NonNullable<ExecDeps["recordings"]>): void {
    this.sessionRecorder = recorder;
  }

  /** Images belong to teams: images.service.ts beforeRun / beforeCommit / claim. */
  private imageCheck:
    | {
        beforeRun(
          actor: Actor,
          nodeId: string,
          image: string,
          credential: ReturnType<RegistriesService["credentialForImage"]>,
        ): Promise<() => Promise<void>>;
        beforeCommit(actor: Actor, nodeId: string, ref: string | undefined): Promise<void>;
        claim(actor: Actor, nodeId: string, ref: string | null, digest: string): void;
      }
    | undefined;

  /** Set once by services.ts (the images service holds the image ownership records). */
  setImageCheck(check: NonNullable<ContainersService["imageCheck"]>): void {
    this.imageCheck = check;
  }

  /** Set once by services.ts (the networks service needs this one, so it comes after). */
  setNetworkCheck(check: NonNullable<ContainersService["networkCheck"]>): void {
    this.networkCheck = check;
  }

  private scope(actor: Actor) {
    return actor.isAdmin ? undefined : eq(containers.teamId, actor.teamId);
  }

  private views(rows: ContainerRow[]): ContainerView[] {
    if (rows.length === 0) return [];
    const nodeNames = new Map(
      this.db
        .select({ id: nodes.id, name: nodes.name })
        .from(nodes)
        .where(inArray(nodes.id, [...new Set(rows.map((r) => r.nodeId))]))
        .all()
        .map((n) => [n.id, n.name]),
    );
    const creatorIds = [
      ...new Set(rows.map((r) => r.createdBy).filter((x): x is string => x !== null)),
    ];
    const creators = new Map(
      creatorIds.length === 0
        ? []
        : this.db
            .select({ id: users.id, username: users.username })
            .from(users)
            .where(inArray(users.id, creatorIds))
            .all()
            .map((u) => [u.id, u.username]),
    );
    return rows.map((r) => {
      const spec = r.spec as Partial<ContainerSpec>;
      return {
        id: r.id,
        shortId: r.id.slice(0, 12),
        name: r.name,
        image: r.image,
        command: spec.command ?? null,
        state: r.state,
        exitCode: r.exitCode,
        oomKilled: r.oomKilled,
        error: r.error,
        nodeId: r.nodeId,
        nodeName: nodeNames.get(r.nodeId) ?? r.nodeId,
        teamId: r.teamId,
        createdBy: r.createdBy === null ? null : (creators.get(r.createdBy) ?? null),
        createdAt: r.createdAt.getTime(),
        startedAt: r.startedAt?.getTime() ?? null,
        finishedAt: r.finishedAt?.getTime() ?? null,
        autoRemove: r.autoRemove,
        limits: spec.limits ?? {},
        restartPolicy: spec.restartPolicy ?? { name: "no", maximumRetryCount: 0 },
        logConfig: spec.logConfig ?? null,
        restartCount: r.restartCount,
        health: r.health,
      };
    });
  }

  private view(row: ContainerRow): ContainerView {
    return this.views([row])[0]!;
  }

  list(actor: Actor, opts: { all: boolean; node?: string }): ContainerView[] {
    const conds = [this.scope(actor)];
    if (!opts.all) conds.push(inArray(containers.state, ACTIVE_FOR_LIST));
    if (opts.node !== undefined)
      conds.push(eq(containers.nodeId, this.nodes.resolve(opts.node).id));
    const rows = this.db
      .select()
      .from(containers)
      .where(and(...conds))
      .orderBy(desc(containers.createdAt), desc(containers.id))
      .all();
    return this.views(rows);
  }

  /** A container by full id, name, or unique id prefix of at least 3 characters. */
  resolve(actor: Actor, ref: string): ContainerRow {
    const scope = this.scope(actor);
    const exact =
      this.db
        .select()
        .from(containers)
        .where(and(scope, eq(containers.id, ref)))
        .get() ??
      this.db
        .select()
        .from(containers)
        .where(and(scope, eq(containers.name, ref)))
        .get();
    if (exact) return exact;
    if (ref.length >= 3 && /^[0-9a-f]+$/.test(ref)) {
      const matches = this.db
        .select()
        .from(containers)
        .where(and(scope, like(containers.id, `${ref}%`)))
        .limit(3)
        .all();
      if (matches.length === 1) return matches[0]!;
      if (matches.length > 1) {
        throw new DomainError(
          "invalid_input",
          `"${ref}" matches several containers: use more characters of the id or the name`,
        );
      }
    }
    const hint =
      ref.length < 3 && /^[0-9a-f]+$/.test(ref) ? " (id prefixes need at least 3 characters)" : "";
    throw new DomainError("not_found", `no container "${ref}"${hint}`);
  }

  get(actor: Actor, ref: string): ContainerView {
    return this.view(this.resolve(actor, ref));
  }

  private assertNameFree(name: string): void {
    const taken = this.db
      .select({ id: containers.id })
      .from(containers)
      .where(eq(containers.name, name))
      .get();
    if (taken) {
      throw new DomainError(
        "conflict",
        `the container name "${name}" is already in use by container ${taken.id.slice(0, 12)}`,
        {
          containerId: taken.id,
        },
      );
    }
  }

  private freeGeneratedName(): string {
    for (let i = 0; i < 20; i++) {
      const name = generateContainerName();
      if (
        !this.db
          .select({ id: containers.id })
          .from(containers)
          .where(eq(containers.name, name))
          .get()
      )
        return name;
    }
    // Name space crowded: add a number, as Docker does.
    return `${generateContainerName()}_${Math.floor(Math.random() * 10_000)}`;
  }

  /**
   * The node a container goes to: the one asked for, else the online node running fewest
   * containers. With `teamId`, only nodes the team may use (not cordoned; pool granted).
   */
  pickNode(ref: string | undefined, teamId?: string): { id: string; name: string } {
    if (ref !== undefined) {
      const node = this.nodes.resolve(ref);
      if (!this.gateway.isOnline(node.id))
        throw new DomainError("unavailable", `node ${node.name} is offline`);
      if (teamId !== undefined) this.nodes.assertTeamMayUse(teamId, node.id);
      return node;
    }
    const up = this.db
      .select({ id: nodes.id, name: nodes.name })
      .from(nodes)
      .all()
      .filter((n) => this.gateway.isOnline(n.id));
    const online = teamId === undefined ? up : up.filter((n) => this.nodes.mayUse(teamId, n.id));
    if (online.length === 0 && up.length > 0) {
      throw new DomainError(
        "unavailable",
        "no online node takes containers of your team: every one is cordoned or in a pool not granted to it",
      );
    }
    if (online.length === 0) {
      throw new DomainError(
        "unavailable",
        "no node is online: join one with `berth join-token create`",
      );
    }
    const counts = containerCountsByNode(this.db);
    online.sort(
      (a, b) =>
        (counts.get(a.id)?.running ?? 0) - (counts.get(b.id)?.running ?? 0) ||
        a.name.localeCompare(b.name),
    );
    return online[0]!;
  }

  /**
   * Persists the container as `creating`, has the agent run it and records the result. If the
   * agent fails, the row is deleted (nothing half-created is left) and the agent's error rethrown.
   */
  async run(actor: Actor, input: RunInput): Promise<ContainerView> {
    return this.place(actor, input, "container.run");
  }

  /** `run` without the start: the agent prepares the container and leaves it `created`. */
  async create(actor: Actor, input: RunInput): Promise<ContainerView> {
    return this.place(actor, input, "container.create");
  }

  private async place(
    actor: Actor,
    input: RunInput,
    command: "container.run" | "container.create",
  ): Promise<ContainerView> {
    assertSecurityAllowed(actor, input.spec);
    if (input.name !== undefined) this.assertNameFree(input.name);
    const node = this.pickNode(input.node, actor.teamId);
    // Another team's (or an unowned) named volume on that node is not mounted: not found.
    await assertVolumesUsable(this.db, this.gateway, actor, node.id, input.spec);
    const spec = this.networkCheck
      ? await this.networkCheck(actor, node.id, input.spec)
      : input.spec;
    // The team's image (or the system one); another team's is pulled for this team first.
    const credential = this.registries?.credentialForImage(actor.teamId, input.spec.image);
    const stampImage = await this.imageCheck?.beforeRun(
      actor,
      node.id,
      input.spec.image,
      credential,
    );
    const name = input.name ?? this.freeGeneratedName();
    const id = newContainerId();
    let inserted: ContainerRow;
    try {
      inserted = this.db
        .insert(containers)
        .values({
          id,
          name,
          teamId: actor.teamId,
          nodeId: node.id,
          createdBy: actor.id,
          image: input.spec.image,
          spec: input.spec,
          autoRemove: input.autoRemove,
          state: "creating",
        })
        .returning()
        .get();
    } catch (e) {
      if (isUniqueViolation(e)) this.assertNameFree(name);
      throw e;
    }
    // Who its usage is billed to, fixed now (later changes never move past usage).
    stampAttribution(this.db, inserted);
    let status;
    try {
      // The node pulls the image if it lacks it, with this team's credential for its registry.
      status = await this.gateway.send(
        node.id,
        command,
        {
          containerId: id,
          name,
          spec,
          autoRemove: input.autoRemove,
          pull: credential === undefined ? {} : { credential },
        },
        { timeoutMs: RUN_TIMEOUT_MS },
      );
    } catch (e) {
      this.db.delete(containers).where(eq(containers.id, id)).run();
      this.gateway.events.publish({ type: "removed", containerId: id });
      throw registryAuthError(e, registryOfReference(input.spec.image));
    }
    // Volumes the agent made on first use belong to the caller's team.
    recordContainerVolumes(this.db, actor, node.id, input.spec);
    await stampImage?.();
    const row = applyContainerStatus(this.db, node.id, status);
    if (row) {
      this.gateway.events.publish({ type: "updated", containerId: id, row });
      return this.view(row);
    }
    // Already gone: an auto-removed container that exited before its result arrived.
    return this.view({
      ...inserted,
      state: status.state,
      exitCode: status.exitCode,
      pid: status.pid,
      oomKilled: status.oomKilled,
      error: status.error,
    });
  }

  async stop(actor: Actor, ref: string, timeoutSeconds: number): Promise<ContainerView> {
    const row = this.resolve(actor, ref);
    const status = await this.gateway.send(
      row.nodeId,
      "container.stop",
      { containerId: row.id, timeoutSeconds },
      { timeoutMs: (timeoutSeconds + 30) * 1000 },
    );
    const updated = applyContainerStatus(this.db, row.nodeId, status);
    if (!updated) return this.view({ ...row, state: status.state, exitCode: status.exitCode });
    this.gateway.events.publish({ type: "updated", containerId: row.id, row: updated });
    return this.view(updated);
  }

  // ---- lifecycle verbs: the agent's state machine decides; its status updates the row

  private async lifecycle<
    N extends
      | "container.start"
      | "container.kill"
      | "container.restart"
      | "container.pause"
      | "container.unpause",
  >(
    actor: Actor,
    ref: string,
    name: N,
    extra: Omit<CommandParamsInput<N>, "containerId">,
    timeoutMs = LIFECYCLE_TIMEOUT_MS,
  ): Promise<ContainerView> {
    const row = this.resolve(actor, ref);
    const status = await this.gateway.send(
      row.nodeId,
      name,
      { containerId: row.id, ...extra } as CommandParamsInput<N>,
      { timeoutMs },
    );
    const updated = applyContainerStatus(this.db, row.nodeId, status as ContainerStatus);
    if (!updated) return this.view(this.resolve(actor, row.id));
    this.gateway.events.publish({ type: "updated", containerId: row.id, row: updated });
    return this.view(updated);
  }

  start(actor: Actor, ref: string): Promise<ContainerView> {
    return this.lifecycle(actor, ref, "container.start", {});
  }

  kill(actor: Actor, ref: string, signal: string): Promise<ContainerView> {
    return this.lifecycle(actor, ref, "container.kill", { signal });
  }

  restart(actor: Actor, ref: string, timeoutSeconds: number): Promise<ContainerView> {
    return this.lifecycle(
      actor,
      ref,
      "container.restart",
      { timeoutSeconds },
      (timeoutSeconds + 60) * 1000,
    );
  }

  pause(actor: Actor, ref: string): Promise<ContainerView> {
    return this.lifecycle(actor, ref, "container.pause", {});
  }

  unpause(actor: Actor, ref: string): Promise<ContainerView> {
    return this.lifecycle(actor, ref, "container.unpause", {});
  }

  /** Renames on the agent, then the row; names stay unique across the cluster. */
  async rename(actor: Actor, ref: string, name: string): Promise<ContainerView> {
    const row = this.resolve(actor, ref);
    if (row.name === name) return this.view(row);
    this.assertNameFree(name);
    await this.gateway.send(
      row.nodeId,
      "container.rename",
      { containerId: row.id, name },
      { timeoutMs: LIFECYCLE_TIMEOUT_MS },
    );
    let updated: ContainerRow | undefined;
    try {
      updated = this.db
        .update(containers)
        .set({ name })
        .where(eq(containers.id, row.id))
        .returning()
        .get();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      // Taken meanwhile: put the agent's name back, then report the conflict.
      await this.gateway
        .send(row.nodeId, "container.rename", { containerId: row.id, name: row.name })
        .catch(() => undefined);
      this.assertNameFree(name);
      throw e;
    }
    if (!updated) return this.view(this.resolve(actor, row.id));
    this.gateway.events.publish({ type: "updated", containerId: row.id, row: updated });
    return this.view(updated);
  }

  /**
   * `commit`: the container's read-write layer becomes a new image on its node. `changes` are
   * parsed here (a bad line is a 400 before the node is asked).
   */
  async commit(
    actor: Actor,
    input: z.infer<typeof CommitContainerInputSchema>,
  ): Promise<{ digest: string; ref: string | null; nodeId: string; nodeName: string }> {
    const row = this.resolve(actor, input.ref);
    let changes: ImageChanges | undefined;
    try {
      changes = input.changes.length > 0 ? parseImageChanges(input.changes) : undefined;
    } catch (e) {
      throw new DomainError("invalid_input", (e as Error).message);
    }
    await this.imageCheck?.beforeCommit(actor, row.nodeId, input.image);
    const r = await this.gateway.send(
      row.nodeId,
      "container.commit",
      {
        containerId: row.id,
        pause: input.pause,
        ...(input.image === undefined ? {} : { ref: input.image }),
        ...(changes === undefined ? {} : { changes }),
        ...(input.message === undefined ? {} : { comment: input.message }),
        ...(input.author === undefined ? {} : { author: input.author }),
      },
      { timeoutMs: COMMIT_TIMEOUT_MS },
    );
    this.imageCheck?.claim(actor, row.nodeId, r.ref, r.digest);
    return { ...r, nodeId: row.nodeId, nodeName: this.view(row).nodeName };
  }

  /**
   * Changes a running container's limits. The agent validates the merged limits against its
   * host and applies them with `runc update`; only then is the row's spec updated.
   */
  async update(
    actor: Actor,
    ref: string,
    limits: Partial<ContainerLimits>,
  ): Promise<ContainerView> {
    const row = this.resolve(actor, ref);
    if (row.state !== "running")
      throw new DomainError(
        "invalid_state",
        `container ${row.name} is ${row.state}: only a running container can be updated`,
      );
    const status = await this.gateway.send(
      row.nodeId,
      "container.update",
      { containerId: row.id, limits },
      { timeoutMs: UPDATE_TIMEOUT_MS },
    );
    const spec = row.spec as ContainerSpec;
    this.db
      .update(containers)
      .set({ spec: { ...spec, limits: { ...spec.limits, ...limits } } })
      .where(eq(containers.id, row.id))
      .run();
    const updated = applyContainerStatus(this.db, row.nodeId, status);
    if (!updated) return this.view(this.resolve(actor, row.id));
    this.gateway.events.publish({ type: "updated", containerId: row.id, row: updated });
    return this.view(updated);
  }

  /** One usage sample of a running container, straight from its agent. */
  async stats(actor: Actor, ref: string): Promise<ContainerStats> {
    const row = this.resolve(actor, ref);
    if (row.state !== "running" && row.state !== "paused")
      throw new DomainError(
        "invalid_state",
        `container ${row.name} is ${row.state}: stats need a running container`,
      );
    return this.gateway.send(
      row.nodeId,
      "container.stats",
      { containerId: row.id },
      { timeoutMs: STATS_TIMEOUT_MS },
    );
  }

  /** `containers.statsStream`: a round of samples about every second (see container-streams). */
  statsStream(actor: Actor, refs: string[] | undefined, signal?: AbortSignal) {
    return statsStream(
      this.db,
      this.gateway,
      actor,
      refs,
      {
        intervalMs: STATS_STREAM_INTERVAL_MS,
        timeoutMs: STATS_TIMEOUT_MS,
        resolve: (ref) => this.resolve(actor, ref),
      },
      signal,
    );
  }

  /**
   * `containers.events`: docker-like events of the containers the actor may see: the stored
   * history from `since` (or up to `until`), then live ones until `until` or `signal`.
   */
  events(actor: Actor, input: ContainerEventsInput, signal?: AbortSignal) {
    return containerEvents(this.db, this.gateway, actor, input, signal);
  }

  async remove(actor: Actor, ref: string, force: boolean): Promise<{ id: string; removed: true }> {
    const row = this.resolve(actor, ref);
    if (ALIVE.has(row.state) && !force) {
      throw new DomainError(
        "invalid_state",
        `container ${row.name} is ${row.state}: stop it first or remove it with force`,
      );
    }
    try {
      await this.gateway.send(
        row.nodeId,
        "container.remove",
        { containerId: row.id, force },
        { timeoutMs: REMOVE_TIMEOUT_MS },
      );
    } catch (e) {
      // The agent no longer has it: the row is all that is left to remove.
      if (!(e instanceof DomainError && e.kind === "not_found")) throw e;
    }
    // The agent's `container.removed` event may have deleted the row (and published its
    // destroy) first: only the deleter publishes the row, so history holds one destroy.
    const gone = this.db.delete(containers).where(eq(containers.id, row.id)).returning().get();
    this.gateway.events.publish({ type: "removed", containerId: row.id, row: gone });
    return { id: row.id, removed: true };
  }

  /** Resolves once the container is no longer alive (long poll, bounded by the wait limit). */
  wait(
    actor: Actor,
    ref: string,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number | null; state: ContainerState }> {
    const first = this.resolve(actor, ref);
    return new Promise((resolve, reject) => {
      let last: { exitCode: number | null; state: ContainerState } = {
        exitCode: first.exitCode,
        state: first.state,
      };
      const cleanup = () => {
        unsubscribe();
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const finish = (v: { exitCode: number | null; state: ContainerState }) => {
        cleanup();
        resolve(v);
      };
      const onChange = (c: ContainerChange) => {
        if (c.type === "removed") return finish(last);
        last = { exitCode: c.row.exitCode, state: c.row.state };
        if (!WAIT_WHILE.has(c.row.state)) finish(last);
      };
      const onAbort = () => {
        cleanup();
        reject(new DomainError("unavailable", "the wait was cancelled"));
      };
      // Subscribe before re-reading the row so a change in between cannot be missed.
      const unsubscribe = this.gateway.events.subscribe(first.id, onChange);
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new DomainError(
            "timeout",
            `container ${first.name} is still ${last.state} after ${Math.round(this.waitLimitMs / 1000)} s: wait again`,
          ),
        );
      }, this.waitLimitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      const now = this.db.select().from(containers).where(eq(containers.id, first.id)).get();
      if (!now) return finish(last);
      last = { exitCode: now.exitCode, state: now.state };
      if (!WAIT_WHILE.has(now.state)) finish(last);
    });
  }

  /** Relays a `docker exec` stream and audits its start (container-exec.ts). */
  exec(
    actor: Actor,
    input: ContainerExecInput,
    audit: ExecDeps["audit"],
    address: string | null,
    signal?: AbortSignal,
  ): AsyncGenerator<ExecChunk, void, undefined> {
    const deps = {
      resolve: (a: Actor, ref: string) => this.resolve(a, ref),
      gateway: this.gateway,
      audit,
      sessions: this.execSessions,
      recordings: this.sessionRecorder,
    };
    return containerExec(deps, actor, input, address, signal);
  }

  /** Stdin data, EOF or a resize for an interactive exec session of `actor` (container-exec.ts). */
  execInput(actor: Actor, input: ExecSessionInput): { ok: true } {
    return execInput({ gateway: this.gateway, sessions: this.execSessions }, actor, input);
  }

  /** Relays the agent's log stream; aborting `signal` cancels the agent's stream. */
  async *logs(
    actor: Actor,
    input: ContainerLogsInput,
    signal?: AbortSignal,
  ): AsyncGenerator<LogChunk, void, undefined> {
    const row = this.resolve(actor, input.ref);
    yield* containerLogs(this.gateway, row, input, signal);
  }
}

/**
 * Choices that weaken isolation of the host itself are for administrators: a privileged
 * container, or lifting the seccomp filter. Operators keep cap-add/cap-drop.
 */
export function assertSecurityAllowed(actor: Actor, spec: RunInput["spec"]): void {
  if (actor.isAdmin) return;
  if (spec.security.privileged) {
    throw new DomainError("forbidden", "only administrators may run privileged containers");
  }
  if (spec.security.seccomp === "unconfined") {
    throw new DomainError("forbidden", "only administrators may run containers without seccomp");
  }
  if (spec.namespaces?.pid === "host") {
    throw new DomainError("forbidden", "only administrators may share the host's pid namespace");
  }
  if (spec.namespaces?.ipc === "host") {
    throw new DomainError("forbidden", "only administrators may share the host's ipc namespace");
  }
  if (spec.network === "host") {
    throw new DomainError(
      "forbidden",
      "only administrators may use the host's network (--network host)",
    );
  }
  // A host device is host access (a disk, /dev/mem, a GPU...), like privileged.
  if (spec.devices && spec.devices.length > 0) {
    throw new DomainError("forbidden", "only administrators may give containers host devices");
  }
}
