/**
 * Berth's fleet state. Written with drizzle's SQLite builders using only portable column
 * kinds (text, integer, JSON as text, timestamps as integer milliseconds) so a Postgres
 * dialect can mirror it table for table.
 */
import type { Health } from "@berth/core";
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" })
    .notNull()
    .default(sql`(unixepoch() * 1000)`);

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    passwordHash: text("password_hash").notNull(),
    isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("users_username_uq").on(t.username)],
);

/** Browser sessions; the cookie holds the secret, the table its sha256. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    address: text("address"),
  },
  (t) => [
    uniqueIndex("sessions_token_hash_uq").on(t.tokenHash),
    index("sessions_user_idx").on(t.userId),
  ],
);

/** API tokens for the CLI and automation (`BERTH_TOKEN`). Shown once, stored hashed. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("api_tokens_token_hash_uq").on(t.tokenHash),
    index("api_tokens_user_idx").on(t.userId),
  ],
);

export const teams = sqliteTable(
  "teams",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Storage the team's registry repositories may reference, in bytes (null: no quota). */
    registryQuotaBytes: integer("registry_quota_bytes"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("teams_name_uq").on(t.name)],
);

export const teamMembers = sqliteTable(
  "team_members",
  {
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["owner", "operator", "viewer"] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] })],
);

export const nodes = sqliteTable(
  "nodes",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** sha256 of the node credential's secret part. */
    credentialHash: text("credential_hash").notNull(),
    /** NodeFacts as JSON, refreshed at every hello. */
    facts: text("facts", { mode: "json" }),
    status: text("status", { enum: ["online", "offline"] })
      .notNull()
      .default("offline"),
    /** Written on connect and disconnect, never per heartbeat. */
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }),
    /** Highest event sequence stored from this node's outbox. */
    ackedSeq: integer("acked_seq").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("nodes_name_uq").on(t.name)],
);

export const joinTokens = sqliteTable(
  "join_tokens",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
    nodeId: text("node_id").references(() => nodes.id, { onDelete: "set null" }),
  },
  (t) => [uniqueIndex("join_tokens_token_hash_uq").on(t.tokenHash)],
);

export const containers = sqliteTable(
  "containers",
  {
    /** 64 hex characters, like Docker's. */
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id),
    nodeId: text("node_id")
      .notNull()
      .references(() => nodes.id),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    image: text("image").notNull(),
    /** ContainerSpec as JSON. */
    spec: text("spec", { mode: "json" }).notNull(),
    autoRemove: integer("auto_remove", { mode: "boolean" }).notNull().default(false),
    state: text("state", {
      enum: ["creating", "created", "running", "paused", "stopping", "exited", "removing", "dead"],
    }).notNull(),
    pid: integer("pid"),
    exitCode: integer("exit_code"),
    oomKilled: integer("oom_killed", { mode: "boolean" }).notNull().default(false),
    error: text("error"),
    createdAt: createdAt(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
    /** Restarts the agent did under the restart policy. */
    restartCount: integer("restart_count").notNull().default(0),
    /** The healthcheck's state (core HealthSchema) as JSON; null without a healthcheck. */
    health: text("health", { mode: "json" }).$type<Health>(),
  },
  (t) => [
    uniqueIndex("containers_name_uq").on(t.name),
    index("containers_node_idx").on(t.nodeId),
    index("containers_team_idx").on(t.teamId),
  ],
);

/** The audit trail: every mutation and every denied attempt. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    actorId: text("actor_id"),
    actorName: text("actor_name"),
    teamId: text("team_id"),
    action: text("action").notNull(),
    target: text("target"),
    /** Parameters with secrets redacted, as JSON. */
    params: text("params", { mode: "json" }),
    result: text("result", { enum: ["ok", "denied", "error"] }).notNull(),
    error: text("error"),
    address: text("address"),
  },
  (t) => [index("audit_at_idx").on(t.at), index("audit_actor_idx").on(t.actorId)],
);

/**
 * Docker-like container events (`berth events --since/--until`), one row per action, written by
 * the server as agents report them. Snapshot columns (name, image, node name, team) keep an
 * event readable after its container is gone; no foreign keys for the same reason. Bounded:
 * the server prunes rows older than 7 days and all but the newest 100k.
 */
export const containerEvents = sqliteTable(
  "container_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    teamId: text("team_id").notNull(),
    containerId: text("container_id").notNull(),
    containerName: text("container_name").notNull(),
    image: text("image").notNull(),
    nodeId: text("node_id").notNull(),
    nodeName: text("node_name").notNull(),
    /** docker's action: create, start, die, oom, pause, unpause, destroy, health_status: … */
    action: text("action").notNull(),
    /** Only for `die`. */
    exitCode: integer("exit_code"),
  },
  (t) => [
    index("container_events_team_at_idx").on(t.teamId, t.at),
    index("container_events_at_idx").on(t.at),
  ],
);

/**
 * Registry credentials of a team (`berth login REGISTRY`), one per registry host. The secret is
 * sealed by the server (AES-256-GCM under a key kept in its data dir, never in the database):
 * `v1.<iv>.<tag>.<ciphertext>` in base64url. The team's pulls, pushes and runs use it.
 */
export const registryCredentials = sqliteTable(
  "registry_credentials",
  {
    id: text("id").primaryKey(),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    /** `host[:port]`, lowercased; Docker Hub's aliases are `docker.io`. */
    registry: text("registry").notNull(),
    username: text("username").notNull(),
    secret: text("secret").notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("registry_credentials_team_registry_uq").on(t.teamId, t.registry)],
);

/**
 * Settings and activity of a repository in berth-server's own registry (the blobs and manifests
 * live on disk). A row is made at the first push or setting; `team_id` is null for the
 * single-component names only administrators use.
 */
export const registryRepositories = sqliteTable(
  "registry_repositories",
  {
    /** The full repository name, `<team>/<path>`. */
    name: text("name").primaryKey(),
    teamId: text("team_id").references(() => teams.id, { onDelete: "cascade" }),
    /** Anyone, even anonymous, may pull. */
    public: integer("public", { mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
    lastPushAt: integer("last_push_at", { mode: "timestamp_ms" }),
    lastPullAt: integer("last_pull_at", { mode: "timestamp_ms" }),
    /** Bytes of the unique blobs the repository references, as of the last push or delete. */
    sizeBytes: integer("size_bytes"),
  },
  (t) => [index("registry_repositories_team_idx").on(t.teamId)],
);

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type Team = typeof teams.$inferSelect;
export type NodeRow = typeof nodes.$inferSelect;
export type JoinToken = typeof joinTokens.$inferSelect;
export type ContainerRow = typeof containers.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type ContainerEventRow = typeof containerEvents.$inferSelect;
export type RegistryCredentialRow = typeof registryCredentials.$inferSelect;
export type RegistryRepositoryRow = typeof registryRepositories.$inferSelect;
