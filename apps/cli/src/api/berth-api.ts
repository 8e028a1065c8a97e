/**
 * The CLI's view of berth-server: one method per procedure it calls (docs/API.md), each answer
 * validated with the schemas of ./views. Queries and mutations go over tRPC's httpLink (one
 * request each, no batching delay); subscriptions over SSE with the `eventsource` package, loaded
 * only when a command streams.
 */
import {
  ImageTransferViewChunkSchema,
  type ImagePullInput,
  type ImagePushInput,
  type ImageTransferViewChunk,
  type NetworkCreateOptionsSchema,
  type RegistryLoginInput,
} from "@berth/core";
import {
  ContainerEventSchema,
  ContainerStatsStreamSampleSchema,
  type ContainerEvent,
  type ContainerEventsInputSchema,
  type ContainerStatsStreamSample,
  ContainerStatsSchema,
  type ContainerStats,
  type UpdateContainerInput,
  type ContainerLogsInputSchema,
  type ContainerExecInput,
  type ExecSessionInput,
  type CreateJoinTokenInputSchema,
  type ListContainersInputSchema,
  type RemoveContainerInputSchema,
  type RunContainerInput,
  type StopContainerInputSchema,
} from "@berth/core";
import { createTRPCClient, httpLink, httpSubscriptionLink, type TRPCClient } from "@trpc/client";
import type { AppRouter } from "@berth/web/router";
import { z } from "zod";
import { CliError } from "../errors";
import { parseAnswer } from "./parse-answer";
import { ExecChunkSchema, type ExecChunk } from "./exec-chunk";
import { FleetApi } from "./fleet-api";
import { TeamsApi } from "./teams-api";
import { UsageApi } from "./usage-api";
import { AuditApi, TokensApi } from "./account-api";
import { RecordingsApi } from "./recordings-api";
import { VolumeRemoveResultSchema, VolumeViewSchema, type VolumeView } from "./volume-views";
import {
  ContainerNetworksSchema,
  NetworkRemoveResultSchema,
  NetworkViewSchema,
  type ContainerNetworks,
  type NetworkView,
} from "./network-views";
import {
  ImageDetailsViewSchema,
  ImagePruneViewSchema,
  ImageRemovalViewSchema,
  ImageTagViewSchema,
  type ImageDetailsView,
  type ImagePruneView,
  type ImageRemovalView,
} from "./image-views";
import { createHttpClient, type HttpClient, type HttpFetch } from "./http-fetch";
import { streamLogsOverHttp } from "./log-stream";
import {
  CliLoginResultSchema,
  ContainerViewSchema,
  HealthSchema,
  ImageViewSchema,
  JoinTokenCreatedSchema,
  LogChunkSchema,
  NodeViewSchema,
  RemoveResultSchema,
  WaitResultSchema,
  type ContainerView,
  type Health,
  type ImageView,
  type JoinTokenCreated,
  type LogChunk,
  type NodeView,
  type WaitResult,
} from "./views";

const RegistryLoginViewSchema = z.object({
  registry: z.string(),
  username: z.string(),
  updatedAt: z.number(),
});

export interface BerthApiOptions {
  server: string;
  token: string | null;
  /** Sent as the User-Agent. */
  userAgent: string;
  /** The team to act in (`x-berth-team`); null: the user's default team. */
  team?: string | null;
}

export class BerthApi {
  readonly server: string;
  readonly hasToken: boolean;
  private readonly http: HttpClient;
  private readonly client: TRPCClient<AppRouter>;
  private subscriptionClient: TRPCClient<AppRouter> | null = null;

  constructor(opts: BerthApiOptions) {
    this.server = opts.server;
    this.hasToken = opts.token !== null;
    const headers: Record<string, string> = { "user-agent": opts.userAgent };
    if (opts.token !== null) headers.authorization = `Bearer ${opts.token}`;
    if (opts.team) headers["x-berth-team"] = opts.team;
    this.http = createHttpClient(() => headers);
    this.client = createTRPCClient<AppRouter>({
      links: [
        httpLink({
          url: `${opts.server}/api/trpc`,
          fetch: this.http.fetch as unknown as typeof fetch,
        }),
      ],
    });
  }

  /** Fleet management: nodes, pools, join tokens (./fleet-api.ts). */
  get fleet(): FleetApi {
    return new FleetApi(this.client);
  }

  /** Teams, members, roles, users and effective access (./teams-api.ts). */
  get teams(): TeamsApi {
    return new TeamsApi(this.client);
  }

  /** Usage reports, prices and budgets (./usage-api.ts). */
  get usage(): UsageApi {
    return new UsageApi(this.client);
  }

  /** The audit trail: listing, chain verification, export (./account-api.ts). */
  get audit(): AuditApi {
    return new AuditApi(this.client, this.server, this.http.fetch);
  }

  /** Terminal session recordings (./recordings-api.ts). */
  get recordings(): RecordingsApi {
    return new RecordingsApi(this.client);
  }

  /** The caller's API tokens (./account-api.ts). */
  get tokens(): TokensApi {
    return new TokensApi(this.client);
  }

  /** The raw keep-alive fetch, for non-tRPC endpoints. */
  get fetch(): HttpFetch {
    return this.http.fetch;
  }

  close(): void {
    this.http.close();
  }

  async health(): Promise<Health> {
    const res = await this.http.fetch(`${this.server}/api/health`, {
      headers: { accept: "application/json" },
    });
    return parseAnswer(HealthSchema, await res.json(), "GET /api/health");
  }

  async cliLogin(input: { username: string; password: string; tokenName?: string }) {
    return parseAnswer(
      CliLoginResultSchema,
      await this.client.auth.cliLogin.mutate(input),
      "auth.cliLogin",
    );
  }

  async listNodes(): Promise<NodeView[]> {
    return parseAnswer(NodeViewSchema.array(), await this.client.nodes.list.query(), "nodes.list");
  }

  async createJoinToken(
    input: z.input<typeof CreateJoinTokenInputSchema>,
  ): Promise<JoinTokenCreated> {
    return parseAnswer(
      JoinTokenCreatedSchema,
      await this.client.joinTokens.create.mutate(input),
      "joinTokens.create",
    );
  }

  async runContainer(input: RunContainerInput): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.run.mutate(input),
      "containers.run",
    );
  }

  async listContainers(input: z.input<typeof ListContainersInputSchema>): Promise<ContainerView[]> {
    return parseAnswer(
      ContainerViewSchema.array(),
      await this.client.containers.list.query(input),
      "containers.list",
    );
  }

  async getContainer(ref: string): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.get.query({ ref }),
      "containers.get",
    );
  }

  async stopContainer(input: z.input<typeof StopContainerInputSchema>): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.stop.mutate(input),
      "containers.stop",
    );
  }

  async removeContainer(input: z.input<typeof RemoveContainerInputSchema>) {
    return parseAnswer(
      RemoveResultSchema,
      await this.client.containers.remove.mutate(input),
      "containers.remove",
    );
  }

  async waitContainer(ref: string, signal?: AbortSignal): Promise<WaitResult> {
    return parseAnswer(
      WaitResultSchema,
      await this.client.containers.wait.mutate({ ref }, signal ? { signal } : undefined),
      "containers.wait",
    );
  }

  async createContainer(input: RunContainerInput): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.create.mutate(input),
      "containers.create",
    );
  }

  async startContainer(ref: string): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.start.mutate({ ref }),
      "containers.start",
    );
  }

  async killContainer(input: { ref: string; signal?: string }): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.kill.mutate(input),
      "containers.kill",
    );
  }

  async restartContainer(input: { ref: string; timeoutSeconds?: number }): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.restart.mutate(input),
      "containers.restart",
    );
  }

  async pauseContainer(ref: string): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.pause.mutate({ ref }),
      "containers.pause",
    );
  }

  async unpauseContainer(ref: string): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.unpause.mutate({ ref }),
      "containers.unpause",
    );
  }

  async renameContainer(input: { ref: string; name: string }): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.rename.mutate(input),
      "containers.rename",
    );
  }

  async commitContainer(input: {
    ref: string;
    image?: string;
    changes: string[];
    message?: string;
    author?: string;
    pause: boolean;
  }): Promise<{ digest: string; ref: string | null; nodeName: string }> {
    return parseAnswer(
      z.looseObject({ digest: z.string(), ref: z.string().nullable(), nodeName: z.string() }),
      await this.client.containers.commit.mutate(input),
      "containers.commit",
    );
  }

  async updateContainer(input: UpdateContainerInput): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.containers.update.mutate(input),
      "containers.update",
    );
  }

  async containerStats(ref: string): Promise<ContainerStats> {
    return parseAnswer(
      ContainerStatsSchema,
      await this.client.containers.stats.query({ ref }),
      "containers.stats",
    );
  }

  async listImages(input: { node?: string } = {}): Promise<ImageView[]> {
    return parseAnswer(
      ImageViewSchema.array(),
      await this.client.images.list.query(input),
      "images.list",
    );
  }

  async inspectImage(input: { ref: string; node?: string }): Promise<ImageDetailsView> {
    return parseAnswer(
      ImageDetailsViewSchema,
      await this.client.images.inspect.query(input),
      "images.inspect",
    );
  }

  async tagImage(input: { source: string; target: string; node?: string }): Promise<{
    digest: string;
  }> {
    return parseAnswer(
      ImageTagViewSchema,
      await this.client.images.tag.mutate(input),
      "images.tag",
    );
  }

  async removeImage(input: {
    ref: string;
    force: boolean;
    node?: string;
  }): Promise<ImageRemovalView> {
    return parseAnswer(
      ImageRemovalViewSchema,
      await this.client.images.remove.mutate(input),
      "images.remove",
    );
  }

  /** Administrators: `team` holds the image on the node. */
  async assignImage(input: { ref: string; team: string; node?: string }): Promise<ImageView[]> {
    return parseAnswer(
      ImageViewSchema.array(),
      await this.client.images.assign.mutate(input),
      "images.assign",
    );
  }

  async pruneImages(input: { all: boolean; node?: string }): Promise<ImagePruneView[]> {
    return parseAnswer(
      ImagePruneViewSchema.array(),
      await this.client.images.prune.mutate(input),
      "images.prune",
    );
  }

  async listVolumes(input: { node?: string } = {}): Promise<VolumeView[]> {
    return parseAnswer(
      VolumeViewSchema.array(),
      await this.client.volumes.list.query(input),
      "volumes.list",
    );
  }

  async createVolume(input: { name: string; node?: string }): Promise<VolumeView> {
    return parseAnswer(
      VolumeViewSchema,
      await this.client.volumes.create.mutate(input),
      "volumes.create",
    );
  }

  async inspectVolume(input: { name: string; node?: string }): Promise<VolumeView> {
    return parseAnswer(
      VolumeViewSchema,
      await this.client.volumes.inspect.query(input),
      "volumes.inspect",
    );
  }

  async removeVolume(input: { name: string; node?: string }): Promise<{ removed: boolean }> {
    return parseAnswer(
      VolumeRemoveResultSchema,
      await this.client.volumes.remove.mutate(input),
      "volumes.remove",
    );
  }

  async listNetworks(input: { node?: string } = {}): Promise<NetworkView[]> {
    return parseAnswer(
      NetworkViewSchema.array(),
      await this.client.networks.list.query(input),
      "networks.list",
    );
  }

  async createNetwork(input: z.input<typeof NetworkCreateOptionsSchema> & { node?: string }) {
    return parseAnswer(
      NetworkViewSchema,
      await this.client.networks.create.mutate(input),
      "networks.create",
    );
  }

  async inspectNetwork(input: { ref: string; node?: string }): Promise<NetworkView> {
    return parseAnswer(
      NetworkViewSchema,
      await this.client.networks.inspect.query(input),
      "networks.inspect",
    );
  }

  async removeNetwork(input: { ref: string; node?: string }): Promise<{ removed: boolean }> {
    return parseAnswer(
      NetworkRemoveResultSchema,
      await this.client.networks.remove.mutate(input),
      "networks.remove",
    );
  }

  async connectNetwork(input: {
    ref: string;
    container: string;
    aliases?: string[];
    ip?: string;
  }): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.networks.connect.mutate(input),
      "networks.connect",
    );
  }

  async disconnectNetwork(input: { ref: string; container: string }): Promise<ContainerView> {
    return parseAnswer(
      ContainerViewSchema,
      await this.client.networks.disconnect.mutate(input),
      "networks.disconnect",
    );
  }

  /** Live addresses and published ports of one container, or of all the caller's. */
  async containerNetworks(ref?: string): Promise<ContainerNetworks> {
    return parseAnswer(
      ContainerNetworksSchema,
      await this.client.networks.containers.query(ref === undefined ? {} : { ref }),
      "networks.containers",
    );
  }

  private async subscriptions(): Promise<TRPCClient<AppRouter>> {
    if (this.subscriptionClient) return this.subscriptionClient;
    const { EventSource } = await import("eventsource");
    const fetchImpl = this.http.fetch;
    this.subscriptionClient = createTRPCClient<AppRouter>({
      links: [
        httpSubscriptionLink({
          url: `${this.server}/api/trpc`,
          EventSource,
          // The keep-alive fetch adds the Authorization header to every request.
          eventSourceOptions: { fetch: fetchImpl as never },
        }),
      ],
    });
    return this.subscriptionClient;
  }

  /**
   * Streams `containers.logs`, calling onChunk for each validated chunk; resolves when the server
   * ends the stream. A lost connection fails the stream instead of reconnecting forever.
   */
  async streamLogs(
    input: z.input<typeof ContainerLogsInputSchema>,
    onChunk: (chunk: LogChunk) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    // The raw NDJSON route first (log-stream.ts); an older server without it: the subscription.
    try {
      if (await streamLogsOverHttp(this.http.fetch, this.server, input, onChunk, signal)) return;
    } catch (e) {
      if (signal?.aborted) return; // detached (`run` after a second Ctrl-C): not a failure
      throw e;
    }
    const client = await this.subscriptions();
    await this.relay(
      "the log stream",
      // Packed batches: a few strings per chunk instead of an object per line (log-pack.ts).
      (handlers) => client.containers.logs.subscribe({ ...input, packed: true }, handlers),
      (data) => onChunk(parseAnswer(LogChunkSchema, data, "containers.logs")),
      signal,
    );
  }

  /**
   * Streams `containers.exec`: onChunk gets each validated stdout/stderr/exitCode chunk; resolves
   * when the server ends the stream. A lost connection fails the stream (no reconnect: an exec
   * must not run twice).
   */
  async streamExec(
    input: ContainerExecInput,
    onChunk: (chunk: ExecChunk) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const client = await this.subscriptions();
    await this.relay(
      "the exec stream",
      (handlers) => client.containers.exec.subscribe(input, handlers),
      (data) => onChunk(parseAnswer(ExecChunkSchema, data, "containers.exec")),
      signal,
    );
  }

  /** Streams `images.pull` / `images.push`: progress chunks, then `{digest, ref, nodeName}`. */
  async streamImageTransfer(
    t: { kind: "pull"; input: ImagePullInput } | { kind: "push"; input: ImagePushInput },
    onChunk: (chunk: ImageTransferViewChunk) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const client = await this.subscriptions();
    const path = t.kind === "pull" ? "images.pull" : "images.push";
    await this.relay(
      `the ${t.kind} stream`,
      (handlers) =>
        t.kind === "pull"
          ? client.images.pull.subscribe(t.input, handlers)
          : client.images.push.subscribe(t.input, handlers),
      (data) => onChunk(parseAnswer(ImageTransferViewChunkSchema, data, path)),
      signal,
    );
  }

  /** Saves the team's credential for a registry (`berth login REGISTRY`). */
  async registryLogin(input: RegistryLoginInput): Promise<{ registry: string; username: string }> {
    return parseAnswer(
      RegistryLoginViewSchema,
      await this.client.registries.login.mutate(input),
      "registries.login",
    );
  }

  async registryLogout(registry: string): Promise<{ registry: string; removed: boolean }> {
    return parseAnswer(
      z.object({ registry: z.string(), removed: z.boolean() }),
      await this.client.registries.logout.mutate({ registry }),
      "registries.logout",
    );
  }

  async listRegistries(): Promise<{ registry: string; username: string; updatedAt: number }[]> {
    return parseAnswer(
      RegistryLoginViewSchema.array(),
      await this.client.registries.list.query(),
      "registries.list",
    );
  }

  /** Sends stdin data / EOF / a terminal size to an interactive exec session. */
  async execInput(input: ExecSessionInput): Promise<void> {
    await this.client.containers.execInput.mutate(input);
  }

  /** Streams `containers.statsStream` (a round of samples about every second) until `signal`. */
  async streamContainerStats(
    refs: string[],
    onSample: (sample: ContainerStatsStreamSample) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const client = await this.subscriptions();
    await this.relay(
      "the stats stream",
      (handlers) =>
        client.containers.statsStream.subscribe(refs.length > 0 ? { refs } : {}, handlers),
      (data) =>
        onSample(parseAnswer(ContainerStatsStreamSampleSchema, data, "containers.statsStream")),
      signal,
    );
  }

  /** Streams `containers.events` (live container events) until `signal` aborts. */
  async streamEvents(
    input: z.input<typeof ContainerEventsInputSchema>,
    onEvent: (event: ContainerEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const client = await this.subscriptions();
    await this.relay(
      "the event stream",
      (handlers) => client.containers.events.subscribe(input, handlers),
      (data) => onEvent(parseAnswer(ContainerEventSchema, data, "containers.events")),
      signal,
    );
  }

  /**
   * Runs one subscription until it completes, fails, or `signal` aborts. A lost connection fails
   * it instead of reconnecting forever; a server error is passed on as the server words it.
   */
  private relay(
    what: string,
    subscribe: (handlers: {
      onStarted(): void;
      onData(data: unknown): void;
      onError(err: unknown): void;
      onComplete(): void;
      onConnectionStateChange(state: {
        state: string;
        error?: { message: string; data?: unknown } | null;
      }): void;
    }) => { unsubscribe(): void },
    onData: (data: unknown) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let connected = false;
      let sub: { unsubscribe(): void } | undefined = undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        sub?.unsubscribe();
        signal?.removeEventListener("abort", onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = () => finish();
      sub = subscribe({
        onStarted: () => {
          connected = true;
        },
        onData: (data) => {
          if (settled) return;
          try {
            onData(data);
          } catch (e) {
            finish(e);
          }
        },
        onError: (err) => finish(err),
        onComplete: () => finish(),
        onConnectionStateChange: (state) => {
          if (state.state !== "connecting" || !state.error) return;
          const err = state.error;
          finish(
            err.data
              ? err
              : connected
                ? new CliError(`lost ${what} from ${this.server}: ${err.message}`, {
                    cause: err,
                  })
                : new CliError(`cannot connect to berth-server at ${this.server}: ${err.message}`, {
                    hint: `is berth-server running at ${this.server}? start it with \`npm run up\``,
                    cause: err,
                  }),
          );
        },
      });
      if (settled) sub.unsubscribe();
      if (signal) {
        if (signal.aborted) finish();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }
}
