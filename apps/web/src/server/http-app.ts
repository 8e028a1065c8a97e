/**
 * berth-server's own HTTP surface, mounted by server.ts in front of Next.js:
 * `/api/health`, `/api/agent/join`, `/api/trpc/*`, `/api/images/{save,load,import}` (image
 * archives, raw bytes), `/api/audit/export` (the audit trail as CSV or JSON lines), the OCI
 * registry at `/v2/` and the `/api/agent` WebSocket upgrade.
 * Returns false for anything else so the caller can hand it to Next.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { DomainError, toErrorBody } from "@berth/core";
import type { Db } from "@berth/db";
import type { AgentGateway } from "./agents/gateway";
import { joinNode } from "./agents/node-auth";
import { createContextFactory } from "./context";
import { HTTP_STATUS_BY_KIND } from "./errors";
import { sendJson } from "./http-json";
import { createImageArchiveRoutes, isImageArchivePath } from "./modules/images/image-archives.http";
import { createLogDownloadRoute, logRoute } from "./modules/containers/container-logs.http";
import { AUDIT_EXPORT_PATH, createAuditExportRoute } from "./modules/audit/audit-export.http";
import { createRegistryRoutes, isRegistryPath, type RegistryDeps } from "./registry/registry.http";
import { METRICS_PATH, type MetricsAccess, type ServerMetrics } from "./metrics";
import { serveMetrics } from "./metrics.http";
import { appRouter } from "./root";
import type { Services } from "./services";

export const TRPC_BASE_PATH = "/api/trpc/";
/** The largest tRPC request body accepted (1 MiB). */
export const TRPC_MAX_BODY_BYTES = 1024 * 1024;
export const AGENT_WS_PATH = "/api/agent";
export const AGENT_JOIN_PATH = "/api/agent/join";
export const HEALTH_PATH = "/api/health";
const MAX_JOIN_BODY = 64 * 1024;

export interface HttpAppDeps {
  db: Db;
  gateway: AgentGateway;
  services: Services;
  serverId: string;
  defaultTeamId: string;
  secureCookies: boolean;
  /** Prometheus metrics: requests are counted and /metrics served when present. */
  metrics?: { metrics: ServerMetrics; access: MetricsAccess };
  /** The OCI registry at /v2/ (storage, token signer, public URL); not served when absent. */
  registry?: Omit<RegistryDeps, "db" | "services" | "onError">;
  onError?: (message: string) => void;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new DomainError("invalid_input", `request body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? "/", "http://berth.invalid").pathname;
}

export function createHttpApp(deps: HttpAppDeps) {
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: TRPC_BASE_PATH,
    // No procedure takes more than this (image archives have their own streaming routes):
    // bigger bodies are refused with 413 before they are parsed or audited.
    maxBodySize: TRPC_MAX_BODY_BYTES,
    createContext: createContextFactory({
      services: deps.services,
      defaultTeamId: deps.defaultTeamId,
      secureCookies: deps.secureCookies,
    }),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        deps.onError?.(`tRPC ${path ?? "?"}: ${error.message}`);
    },
  });

  const imageArchives = createImageArchiveRoutes({
    services: deps.services,
    defaultTeamId: deps.defaultTeamId,
    secureCookies: deps.secureCookies,
    onError: deps.onError,
  });

  const logDownload = createLogDownloadRoute({
    services: deps.services,
    defaultTeamId: deps.defaultTeamId,
    secureCookies: deps.secureCookies,
    ...(deps.onError ? { onError: deps.onError } : {}),
  });

  const auditExport = createAuditExportRoute({
    services: deps.services,
    defaultTeamId: deps.defaultTeamId,
    secureCookies: deps.secureCookies,
    onError: deps.onError,
  });

  const registry = deps.registry
    ? createRegistryRoutes({
        ...deps.registry,
        db: deps.db,
        services: deps.services,
        onError: deps.onError,
      })
    : null;

  async function join(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return sendJson(res, 405, { error: { kind: "invalid_input", message: "use POST" } });
    }
    try {
      const text = await readBody(req, MAX_JOIN_BODY);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new DomainError("invalid_input", "the join request is not valid JSON");
      }
      sendJson(res, 200, joinNode(deps.db, deps.serverId, body));
    } catch (e) {
      const err = toErrorBody(e);
      if (err.kind === "internal") deps.onError?.(`join: ${err.message}`);
      sendJson(res, HTTP_STATUS_BY_KIND[err.kind], {
        error: { kind: err.kind, message: err.message },
      });
    }
  }

  /** Handles a request if it is berth-server's own; false means "not mine". */
  function handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const path = pathOf(req);
    const metrics = deps.metrics;
    if (metrics) {
      metrics.metrics.observeRequest(req, res, path);
      if (path === METRICS_PATH) {
        serveMetrics(req, res, {
          ...metrics,
          services: deps.services,
          defaultTeamId: deps.defaultTeamId,
        }).catch((e: unknown) => {
          deps.onError?.(`metrics: ${(e as Error).message}`);
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
        return true;
      }
    }
    if (path === HEALTH_PATH) {
      const h = deps.services.health.check();
      sendJson(res, h.db === "ok" ? 200 : 503, h);
      return true;
    }
    if (path === AGENT_JOIN_PATH) {
      void join(req, res);
      return true;
    }
    const logs = logRoute(path);
    if (logs !== null) {
      void logDownload(req, res, logs.ref, logs.kind);
      return true;
    }
    if (path === AUDIT_EXPORT_PATH) {
      void auditExport(req, res);
      return true;
    }
    if (isImageArchivePath(path)) {
      void imageArchives.handle(req, res, path);
      return true;
    }
    if (registry && isRegistryPath(path)) {
      void registry.handle(req, res, path);
      return true;
    }
    if (path.startsWith(TRPC_BASE_PATH)) {
      trpc(req, res);
      return true;
    }
    return false;
  }

  /** Handles an upgrade on the agent path; false means "not mine". */
  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (pathOf(req) !== AGENT_WS_PATH) return false;
    deps.gateway.handleUpgrade(req, socket, head);
    return true;
  }

  return { handleRequest, handleUpgrade };
}
