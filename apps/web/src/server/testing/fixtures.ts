/** Test fixtures: a migrated in-memory database with the bootstrap state, a gateway and services. */
import { rmSync } from "node:fs";
import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import { newContainerId, newId } from "@berth/core";
import { containers, nodes, teamMembers, users, type Db } from "@berth/db";
import { createTestDb } from "@berth/db/test-helpers";
import { AgentGateway, type AgentGatewayOptions } from "../agents/gateway";
import { bootstrapDatabase } from "../bootstrap";
import { buildContext, type Context } from "../context";
import { hashPassword } from "../modules/auth/auth.service";
import { createCaller } from "../root";
import { createServices, type Services } from "../services";

export const ADMIN_PASSWORD = "correct horse battery staple";

export interface Fixture {
  db: Db;
  gateway: AgentGateway;
  services: Services;
  defaultTeamId: string;
  adminId: string;
  cookies: string[];
  close(): Promise<void>;
}

export const quietLogger = { info: () => undefined, warn: () => undefined };

export async function createFixture(
  gatewayOpts: Partial<AgentGatewayOptions> = {},
): Promise<Fixture> {
  const db = createTestDb();
  const boot = await bootstrapDatabase(db, { adminUser: "admin", adminPassword: ADMIN_PASSWORD });
  const gateway = new AgentGateway({
    db,
    serverId: "testserverid2345678901234a",
    logger: quietLogger,
    ...gatewayOpts,
  });
  const services = createServices({
    db,
    gateway,
    publicUrl: "http://127.0.0.1:9",
    version: "test",
  });
  const admin = db.select().from(users).get()!;
  return {
    db,
    gateway,
    services,
    defaultTeamId: boot.defaultTeamId,
    adminId: admin.id,
    cookies: [],
    close: async () => {
      await gateway.close();
      db.$client.close();
      rmSync(services.registry.storage.root, { recursive: true, force: true });
    },
  };
}

/** Adds a user to the default team. */
export async function addUser(
  f: Fixture,
  username: string,
  opts: {
    password?: string;
    role?: "owner" | "operator" | "viewer";
    disabled?: boolean;
    isAdmin?: boolean;
  } = {},
) {
  const id = newId();
  f.db
    .insert(users)
    .values({
      id,
      username,
      passwordHash: await hashPassword(opts.password ?? "password-123"),
      disabled: opts.disabled ?? false,
      isAdmin: opts.isAdmin ?? false,
    })
    .run();
  f.db
    .insert(teamMembers)
    .values({ teamId: f.defaultTeamId, userId: id, role: opts.role ?? "operator" })
    .run();
  return id;
}

/** A tRPC context as the HTTP adapter would build it. */
export function contextFor(
  f: Fixture,
  headers: { cookie?: string; authorization?: string; team?: string } = {},
): Context {
  return buildContext(
    { services: f.services, defaultTeamId: f.defaultTeamId, secureCookies: false },
    { ...headers, address: "127.0.0.1", setCookie: (v) => f.cookies.push(v) },
  );
}

export function insertNode(f: Fixture, name: string): string {
  const id = newId();
  f.db
    .insert(nodes)
    .values({ id, name, credentialHash: "0".repeat(64) })
    .run();
  return id;
}

export function insertContainer(
  f: Fixture,
  nodeId: string,
  name: string,
  extra: Partial<typeof containers.$inferInsert> = {},
): string {
  const id = extra.id ?? newContainerId();
  f.db
    .insert(containers)
    .values({
      id,
      name,
      teamId: f.defaultTeamId,
      nodeId,
      image: "busybox",
      spec: { image: "busybox" },
      state: "running",
      ...extra,
    })
    .run();
  return id;
}

/** A tRPC caller authenticated with a fresh API token of `userId`. */
export function callerFor(f: Fixture, userId: string, opts: { signal?: AbortSignal } = {}) {
  const token = f.services.auth.createApiToken(userId, "t").token;
  return createCaller(contextFor(f, { authorization: `Bearer ${token}` }), opts);
}

/** Everything a subscription yields until it ends. */
export async function collect(sub: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const c of sub) out.push(c);
  return out;
}

/** The TRPCError `p` rejects with; fails the test when it resolves or throws something else. */
export async function trpcErrorOf(p: Promise<unknown>): Promise<TRPCError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TRPCError);
    return e as TRPCError;
  }
  throw new Error("expected the call to fail");
}
