/**
 * The registry benchmarks' Berth side: berth-server's HTTP app (registry included) in this
 * process on 127.0.0.1, over a file-backed database in `dataDir` with an admin whose password is
 * `password`, and skopeo's one-line `skopeo(args)` runner. `onRequest` sees every request first
 * (registry-push-profile.ts counts and times them).
 */
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { openDb } from "../packages/db/src/client";
import { SKOPEO_BIN } from "../apps/node-agent/src/images/registry/test-helpers/registry-server";
import { AgentGateway } from "../apps/web/src/server/agents/gateway";
import { bootstrapDatabase } from "../apps/web/src/server/bootstrap";
import { createHttpApp } from "../apps/web/src/server/http-app";
import { registryFromDataDir } from "../apps/web/src/server/registry/registry.http";
import { createServices } from "../apps/web/src/server/services";

export interface BerthRegistry {
  /** host:port */
  host: string;
  close(): Promise<void>;
}

export async function startBerthRegistry(
  dataDir: string,
  password: string,
  onRequest?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<BerthRegistry> {
  const db = openDb({ path: join(dataDir, "berth.db") });
  await bootstrapDatabase(db, { adminUser: "admin", adminPassword: password });
  const gateway = new AgentGateway({
    db,
    serverId: "benchserverid2345678901234",
    logger: { info: () => undefined, warn: () => undefined },
  });
  let handler: ReturnType<typeof createHttpApp> | null = null;
  const server = createServer((req, res) => {
    onRequest?.(req, res);
    if (!handler?.handleRequest(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const services = createServices({ db, gateway, publicUrl: `http://${host}`, version: "bench" });
  const defaultTeam = (
    db.$client.prepare("select id from teams where name = 'default'").get() as { id: string }
  ).id;
  handler = createHttpApp({
    db,
    gateway,
    services,
    serverId: "benchserverid2345678901234",
    defaultTeamId: defaultTeam,
    secureCookies: false,
    registry: registryFromDataDir(dataDir, `http://${host}`),
  });
  return {
    host,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await gateway.close();
      db.$client.close();
    },
  };
}

/** Runs Debian's skopeo (the tests' pinned SKOPEO_BIN); the wall time in ms. */
export function skopeo(args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(SKOPEO_BIN, args, { maxBuffer: 64 * 1024 * 1024 }, (e, _out, err) =>
      e ? reject(new Error(`skopeo ${args.join(" ")}: ${err}`)) : resolve(performance.now() - t0),
    ),
  );
}
