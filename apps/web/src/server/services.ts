/** Builds the server's services once; routers reach them through the tRPC context. */
import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "@berth/db";
import type { AgentGateway } from "./agents/gateway";
import { AuditService } from "./modules/audit/audit.service";
import { AuthService } from "./modules/auth/auth.service";
import { ContainersService } from "./modules/containers/containers.service";
import { HealthService } from "./modules/health/health.service";
import { ImageArchivesService } from "./modules/images/image-archives.service";
import { ImagesService } from "./modules/images/images.service";
import { JoinTokensService } from "./modules/join-tokens/join-tokens.service";
import { NetworksService } from "./modules/networks/networks.service";
import { NodesService } from "./modules/nodes/nodes.service";
import { RegistriesService } from "./modules/registries/registries.service";
import { RegistryService } from "./modules/registry/registry.service";
import { RegistryStorage } from "./registry/registry-storage";
import { VolumesService } from "./modules/volumes/volumes.service";

export interface Services {
  auth: AuthService;
  audit: AuditService;
  joinTokens: JoinTokensService;
  nodes: NodesService;
  containers: ContainersService;
  images: ImagesService;
  imageArchives: ImageArchivesService;
  registries: RegistriesService;
  /** berth-server's own registry (/v2/) for the dashboard. */
  registry: RegistryService;
  volumes: VolumesService;
  networks: NetworksService;
  health: HealthService;
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
}

export function createServices({
  db,
  gateway,
  publicUrl,
  version,
  registryKey,
  registryStorage,
}: ServicesDeps): Services {
  const registries = new RegistriesService(db, registryKey ?? (() => randomBytes(32)));
  const containers = new ContainersService(db, gateway, registries);
  const networks = new NetworksService(db, gateway, containers);
  containers.setNetworkCheck((actor, nodeId, spec) => networks.checkRun(actor, nodeId, spec));
  return {
    auth: new AuthService(db),
    audit: new AuditService(db),
    joinTokens: new JoinTokensService(db, publicUrl),
    nodes: new NodesService(db),
    containers,
    images: new ImagesService(db, gateway, registries),
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
  };
}
