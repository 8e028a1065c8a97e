/** Builds the server's services once; routers reach them through the tRPC context. */
import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "@berth/db";
import type { AgentGateway } from "./agents/gateway";
import { AuditService } from "./modules/audit/audit.service";
import { AuthService } from "./modules/auth/auth.service";
import { ContainersService } from "./modules/containers/containers.service";
import { StatsHistoryService } from "./modules/containers/stats-history.service";
import { HealthService } from "./modules/health/health.service";
import { ImageArchivesService } from "./modules/images/image-archives.service";
import { ImagesService } from "./modules/images/images.service";
import { JoinTokensService } from "./modules/join-tokens/join-tokens.service";
import { NetworksService } from "./modules/networks/networks.service";
import { NodesService } from "./modules/nodes/nodes.service";
import { PoolsService } from "./modules/pools/pools.service";
import { RecordingsService, type RecordingsOptions } from "./modules/recordings/recordings.service";
import { RegistriesService } from "./modules/registries/registries.service";
import { selfRegistryHosts } from "./registry/registry-self";
import { RegistryService } from "./modules/registry/registry.service";
import { RegistryStorage } from "./registry/registry-storage";
import { TeamsService } from "./modules/teams/teams.service";
import { UsersService } from "./modules/users/users.service";
import { UsageService } from "./modules/usage/usage.service";
import { VolumesService } from "./modules/volumes/volumes.service";

export interface Services {
  auth: AuthService;
  audit: AuditService;
  joinTokens: JoinTokensService;
  nodes: NodesService;
  pools: PoolsService;
  containers: ContainersService;
  images: ImagesService;
  imageArchives: ImageArchivesService;
  registries: RegistriesService;
  /** berth-server's own registry (/v2/) for the dashboard. */
  registry: RegistryService;
  volumes: VolumesService;
  networks: NetworksService;
  health: HealthService;
  /** Teams, memberships, custom roles; the caller's memberships per request. */
  teams: TeamsService;
  users: UsersService;
  /** The last hour of container and node stats, kept by the agents. */
  statsHistory: StatsHistoryService;
  /** Usage accounting: ingest of the agents' samples, reports, prices, budgets. */
  usage: UsageService;
  /** Terminal session recordings (BERTH_RECORD_SESSIONS). */
  recordings: RecordingsService;
}

export interface ServicesDeps {
  db: Db;
  gateway: AgentGateway;
  publicUrl: string;
  version: string;
  /**
   * The key that seals registry secrets (32 bytes), asked at first use; server.ts reads it from
   * the data dir. Default: a random key per process (tests).
   */
  registryKey?: () => Buffer;
  /**
   * The storage of the registry served at /v2/ (server.ts: `<data>/registry`). Default: an
   * empty store under a fresh temporary path, made at first write (tests).
   */
  registryStorage?: RegistryStorage;
  /** The audit chain's key (32 bytes; server.ts: `<data>/audit-chain.key`). Default: random (tests). */
  auditKey?: () => Buffer;
  /** Where audit retention writes its archives (server.ts: `<data>/audit-archive`). */
  auditArchiveDir?: string;
  /** Budget webhooks may target loopback and private addresses (BERTH_WEBHOOK_ALLOW_PRIVATE). */
  webhookAllowPrivate?: boolean;
  /** Terminal session recordings. Default: off (dir: a fresh temporary path). */
  recordings?: Partial<RecordingsOptions>;
}

export function createServices({
  db,
  gateway,
  publicUrl,
  version,
  registryKey,
  registryStorage,
  auditKey,
  auditArchiveDir,
  webhookAllowPrivate,
  recordings: recordingOpts,
}: ServicesDeps): Services {
  const audit = new AuditService(db, {
    ...(auditKey ? { key: auditKey } : {}),
    ...(auditArchiveDir ? { archiveDir: auditArchiveDir } : {}),
  });
  const registries = new RegistriesService(
    db,
    registryKey ?? (() => randomBytes(32)),
    selfRegistryHosts(publicUrl),
  );
  const containers = new ContainersService(db, gateway, registries);
  const networks = new NetworksService(db, gateway, containers);
  containers.setNetworkCheck((actor, nodeId, spec) => networks.checkRun(actor, nodeId, spec));
  const recordings = new RecordingsService(db, {
    enabled: false,
    dir: join(tmpdir(), `berth-recordings-${randomUUID()}`),
    audit,
    ...recordingOpts,
  });
  containers.setSessionRecorder(recordings);
  const images = new ImagesService(db, gateway, registries);
  containers.setImageCheck(images);
  const teams = new TeamsService(db);
  const usage = new UsageService(db, { webhookAllowPrivate: webhookAllowPrivate ?? false });
  gateway.setUsageSink(usage.sink);
  return {
    usage,
    recordings,
    teams,
    users: new UsersService(db, teams),
    auth: new AuthService(db, undefined, audit),
    audit,
    joinTokens: new JoinTokensService(db, publicUrl),
    nodes: new NodesService(db, gateway),
    pools: new PoolsService(db),
    containers,
    images,
    imageArchives: new ImageArchivesService(db, gateway),
    registries,
    registry: new RegistryService(
      db,
      registryStorage ?? new RegistryStorage(join(tmpdir(), `berth-registry-${randomUUID()}`)),
      publicUrl,
    ),
    volumes: new VolumesService(db, gateway),
    networks,
    health: new HealthService(db, () => gateway.connectedCount, version),
    statsHistory: new StatsHistoryService({
      gateway,
      resolveContainer: (actor, ref) => containers.resolve(actor, ref),
      resolveNode: (ref) => new NodesService(db, gateway).resolve(ref),
    }),
  };
}
