/**
 * A berth-server HTTP app with the registry on 127.0.0.1 (random port), over a test fixture and
 * a private data dir; plus a small client for the token flow.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHttpApp } from "../http-app";
import { registryFromDataDir } from "../registry/registry.http";
import type { RegistryStorage } from "../registry/registry-storage";
import type { Fixture } from "./fixtures";
import { listenApp } from "./test-server";

export interface RegistryServer {
  /** `127.0.0.1:<port>` */
  host: string;
  url: string;
  dataDir: string;
  storage: RegistryStorage;
  close(): Promise<void>;
}

export async function startRegistryServer(f: Fixture): Promise<RegistryServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-registry-test-"));
  const storage = f.services.registry.storage;
  const server = await listenApp((host) =>
    createHttpApp({
      db: f.db,
      gateway: f.gateway,
      services: f.services,
      serverId: "testserverid2345678901234a",
      defaultTeamId: f.defaultTeamId,
      secureCookies: false,
      // The registry serves the fixture's store, so registry.* (the tRPC side) sees the same blobs.
      registry: { ...registryFromDataDir(dataDir, `http://${host}`), storage },
    }),
  );
  return {
    host: server.base,
    url: `http://${server.base}`,
    dataDir,
    storage,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Asks the token endpoint for a token (Basic credentials, scopes). */
export async function fetchToken(
  url: string,
  creds: { user: string; password: string } | null,
  scopes: string[],
): Promise<{ status: number; token: string | null; body: unknown }> {
  const q = new URLSearchParams({ service: "berth" });
  for (const s of scopes) q.append("scope", s);
  const res = await fetch(`${url}/v2/token?${q}`, {
    headers: creds
      ? {
          authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString("base64")}`,
        }
      : {},
  });
  const body = (await res.json()) as { token?: string };
  return { status: res.status, token: body.token ?? null, body };
}
