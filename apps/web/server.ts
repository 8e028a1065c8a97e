/**
 * berth-server: the composition root. One HTTP port for the API (tRPC), the agents (join +
 * WebSocket) and the dashboard (Next.js). Run with `node --import tsx server.ts` (`--dev` for
 * Next's dev mode), from this directory or the repository root.
 *
 * Order matters: config → database (migrations applied, failing hard) → bootstrap → gateway and
 * services → Next prepared → listen. SIGINT/SIGTERM close agent sockets, HTTP, Next and the db.
 */
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { getDb, type Db } from "@berth/db";
import { loadServerConfig, type ServerConfig } from "./src/server/env";
import { AgentGateway } from "./src/server/agents/gateway";
import {
  adminPasswordBanner,
  bootstrapDatabase,
  loadServerId,
  writeBootstrapJoinToken,
} from "./src/server/bootstrap";
import { createHttpApp } from "./src/server/http-app";
import { tuneServerGc } from "./src/server/gc-tuning";
import { ServerMetrics } from "./src/server/metrics";
import { appRouter } from "./src/server/root";
import { registryFromDataDir } from "./src/server/registry/registry.http";
import { createServices } from "./src/server/services";
import { loadOrCreateRegistryKey } from "./src/server/modules/registries/secret-box";
import { AUDIT_ARCHIVE_DIR, loadOrCreateAuditKey } from "./src/server/modules/audit/audit-key";

const webDir = dirname(fileURLToPath(import.meta.url));
const dev = process.argv.includes("--dev");

function fail(message: string): never {
  console.error(`berth-server: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  // V8 heap growth suited to a server streaming large uploads (see gc-tuning.ts).
  tuneServerGc();
  let config: ServerConfig;
  try {
    config = loadServerConfig();
  } catch (e) {
    fail((e as Error).message);
  }

  let db: Db;
  try {
    db = getDb(config.dbPath);
  } catch (e) {
    fail((e as Error).message);
  }

  const version = (
    JSON.parse(readFileSync(join(webDir, "package.json"), "utf8")) as { version: string }
  ).version;
  const boot = await bootstrapDatabase(db, {
    adminUser: config.adminUser,
    adminPassword: config.adminPassword,
  });
  if (boot.generatedAdmin)
    console.log(
      `\n${adminPasswordBanner(boot.generatedAdmin.username, boot.generatedAdmin.password)}\n`,
    );
  const serverId = loadServerId(config.dataDir);
  if (config.bootstrapJoinToken) {
    const file = writeBootstrapJoinToken(db, config.dataDir, config.publicUrl);
    console.log(`berth-server: wrote a join token for the local agent to ${file}`);
  }

  const gateway = new AgentGateway({ db, serverId });
  const registry = registryFromDataDir(config.dataDir, config.publicUrl);
  const services = createServices({
    db,
    gateway,
    publicUrl: config.publicUrl,
    version,
    registryKey: () => loadOrCreateRegistryKey(config.dataDir),
    registryStorage: registry.storage,
    auditKey: () => loadOrCreateAuditKey(config.dataDir),
    auditArchiveDir: join(config.dataDir, AUDIT_ARCHIVE_DIR),
    webhookAllowPrivate: config.webhookAllowPrivate,
    recordings: {
      enabled: config.recordSessions,
      dir: join(config.dataDir, "recordings"),
      maxBytes: config.recordingMaxBytes,
      retentionDays: config.recordingRetentionDays,
    },
  });
  // Registry garbage collection every 6 h (1 h grace for blobs awaiting their manifest).
  const registryGc = setInterval(
    () => {
      registry.storage
        .collectGarbage()
        .then((r) => {
          if (r.blobsRemoved > 0 || r.uploadsRemoved > 0)
            console.log(
              `berth-server: registry GC removed ${r.blobsRemoved} blobs (${r.bytesFreed} bytes), ${r.uploadsRemoved} stale uploads`,
            );
        })
        .catch((e: unknown) => console.error(`berth-server: registry GC: ${(e as Error).message}`));
    },
    6 * 3600 * 1000,
  );
  registryGc.unref();
  // Audit retention: at start and daily, rows older than the retention go to an archive.
  const auditRetention = () =>
    services.audit
      .applyRetention(config.auditRetentionDays)
      .then((r) => {
        if (r.archived > 0)
          console.log(`berth-server: archived ${r.archived} audit records to ${r.archive}`);
      })
      .catch((e: unknown) =>
        console.error(`berth-server: audit retention: ${(e as Error).message}`),
      );
  void auditRetention();
  const auditTimer = setInterval(() => void auditRetention(), 24 * 3600 * 1000);
  auditTimer.unref();
  const api = createHttpApp({
    db,
    gateway,
    services,
    serverId,
    defaultTeamId: boot.defaultTeamId,
    secureCookies: config.secureCookies,
    registry,
    metrics: {
      metrics: new ServerMetrics(gateway, Object.keys(appRouter._def.procedures)),
      access: { token: config.metricsToken, allowLoopback: config.metricsAllowLoopback },
    },
    onError: (m) => console.error(`berth-server: ${m}`),
  });

  const app = next({ dev, dir: webDir, hostname: config.host, port: config.port });
  try {
    await app.prepare();
  } catch (e) {
    fail(
      `the dashboard could not start: ${(e as Error).message}${dev ? "" : " (run `npx turbo run build` first, or start with --dev)"}`,
    );
  }
  const handleNext = app.getRequestHandler();
  const upgradeNext = app.getUpgradeHandler();

  const server = createServer((req, res) => {
    if (api.handleRequest(req, res)) return;
    handleNext(req, res).catch((e: unknown) => {
      console.error(`berth-server: dashboard request ${req.url} failed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error");
    });
  });
  server.on("upgrade", (req, socket, head) => {
    // Upgraded sockets lose the HTTP server's error listener; a reset must not crash the server.
    socket.on("error", () => socket.destroy());
    if (api.handleUpgrade(req, socket, head)) return;
    upgradeNext(req, socket, head).catch(() => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch((e: Error) => fail(`cannot listen on ${config.host}:${config.port}: ${e.message}`));
  console.log(
    `berth-server listening on http://${config.host}:${config.port} (public URL ${config.publicUrl}${dev ? ", dev mode" : ""})`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`berth-server: ${signal}: shutting down`);
    clearInterval(registryGc);
    clearInterval(auditTimer);
    await gateway.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await app.close().catch(() => undefined);
    // Recordings of sessions still open: flushed, closed and given their end.
    await services.recordings
      .close()
      .catch((e: Error) => console.error(`berth-server: recordings: ${e.message}`));
    // The audit chain's head seq, so the next start notices rows removed while we were down.
    try {
      services.audit.flushHead();
    } catch (e) {
      console.error(`berth-server: audit chain head: ${(e as Error).message}`);
    }
    db.$client.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((e: unknown) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));
