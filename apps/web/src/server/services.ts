/** Builds the server's services once; routers reach them through the tRPC context. */
import type { Db } from "@berth/db";
import type { AgentGateway } from "./agents/gateway";
import { AuditService } from "./modules/audit/audit.service";
import { AuthService } from "./modules/auth/auth.service";
import { ContainersService } from "./modules/containers/containers.service";
import { HealthService } from "./modules/health/health.service";
import { ImagesService } from "./modules/images/images.service";
import { JoinTokensService } from "./modules/join-tokens/join-tokens.service";
import { NodesService } from "./modules/nodes/nodes.service";
import { VolumesService } from "./modules/volumes/volumes.service";

export interface Services {
  auth: AuthService;
  audit: AuditService;
  joinTokens: JoinTokensService;
  nodes: NodesService;
  containers: ContainersService;
  images: ImagesService;
  volumes: VolumesService;
  health: HealthService;
}

export interface ServicesDeps {
  db: Db;
  gateway: AgentGateway;
  publicUrl: string;
  version: string;
}

export function createServices({ db, gateway, publicUrl, version }: ServicesDeps): Services {
  return {
    auth: new AuthService(db),
    audit: new AuditService(db),
    joinTokens: new JoinTokensService(db, publicUrl),
    nodes: new NodesService(db),
    containers: new ContainersService(db, gateway),
    images: new ImagesService(db, gateway),
    volumes: new VolumesService(db, gateway),
    health: new HealthService(db, () => gateway.connectedCount, version),
  };
}
