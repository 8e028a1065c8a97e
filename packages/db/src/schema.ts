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
    /** The team requests act in when they name none (null: the first membership). */
    defaultTeamId: text("default_team_id").references(() => teams.id, { onDelete: "set null" }),
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
    /** Permission names the token is limited to (JSON list); null: all of the user's. */
    scopes: text("scopes", { mode: "json" }).$type<string[]>(),
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
    /** A built-in role, or "custom" with `role_id` naming the custom role. */
    role: text("role", {
      enum: ["owner", "operator", "viewer", "billing-viewer", "custom"],
    }).notNull(),
    roleId: text("role_id").references(() => roles.id),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.userId] }),
    index("team_members_user_idx").on(t.userId),
  ],
);

/**
 * Custom roles: named sets of permissions (names from core's PERMISSIONS). `team_id` null: a
 * global role any team may use; otherwise only that team's memberships may reference it.
 */
export const roles = sqliteTable(
  "roles",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    teamId: text("team_id").references(() => teams.id, { onDelete: "cascade" }),
    permissions: text("permissions", { mode: "json" }).$type<string[]>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("roles_team_name_uq").on(t.teamId, t.name)],
);

/** Node pools: a node belongs to at most one; a pool is usable by the teams it is granted to. */
export const pools = sqliteTable(
  "pools",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("pools_name_uq").on(t.name)],
);

export const poolGrants = sqliteTable(
  "pool_grants",
  {
    poolId: text("pool_id")
      .notNull()
      .references(() => pools.id, { onDelete: "cascade" }),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.poolId, t.teamId] }),
    index("pool_grants_team_idx").on(t.teamId),
  ],
);

export const nodes = sqliteTable(
  "nodes",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** sha256 of the node credential's secret part. */
    credentialHash: text("credential_hash").notNull(),
    /**
     * sha256 of a rotated secret sent to the agent and not yet confirmed: accepted too, and it
     * replaces `credentialHash` once the agent acknowledges it (or authenticates with it).
     */
    nextCredentialHash: text("next_credential_hash"),
    /** NodeFacts as JSON, refreshed at every hello. */
    facts: text("facts", { mode: "json" }),
    status: text("status", { enum: ["online", "offline"] })
      .notNull()
      .default("offline"),
    /** Written on connect and disconnect, never per heartbeat. */
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }),
    /** Highest event sequence stored from this node's outbox. */
    ackedSeq: integer("acked_seq").notNull().default(0),
    /** Operator labels, `{key: value}` as JSON. */
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
    poolId: text("pool_id").references(() => pools.id, { onDelete: "set null" }),
    /** No new containers are scheduled on a cordoned node. */
    cordoned: integer("cordoned", { mode: "boolean" }).notNull().default(false),
    /** The agent's version as of its last hello. */
    agentVersion: text("agent_version"),
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
    /** How many nodes may join with it (1: single use). */
    maxUses: integer("max_uses").notNull().default(1),
    uses: integer("uses").notNull().default(0),
    /** Preset for the nodes that join with it. */
    poolId: text("pool_id").references(() => pools.id, { onDelete: "set null" }),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
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

/**
 * Named volumes' owners: the volume itself lives on its node (under the agent's state dir); the
 * row says which team it belongs to. A volume on an agent without a row is unowned (admins only).
 */
export const volumes = sqliteTable(
  "volumes",
  {
    nodeId: text("node_id")
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("volumes_node_name_uq").on(t.nodeId, t.name),
    index("volumes_team_idx").on(t.teamId),
  ],
);

/**
 * Which team holds which image on which node: one row per reference (tag) the team gave the
 * image, and a row with `ref` "" for a hold by id alone (docker's untagged image). `digest` is
 * the image's id on the node (its manifest digest, what the agent reports). The image itself
 * lives on the agent; it leaves the node only when no team holds it.
 */
export const imageClaims = sqliteTable(
  "image_claims",
  {
    nodeId: text("node_id")
      .notNull()
      .references(() => nodes.id, { onDelete: "cascade" }),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    /** Familiar form (`busybox:latest`, `reg:5000/t/app:1`), or "" for a hold by id. */
    ref: text("ref").notNull(),
    digest: text("digest").notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("image_claims_node_team_ref_digest_uq").on(t.nodeId, t.teamId, t.ref, t.digest),
    index("image_claims_node_digest_idx").on(t.nodeId, t.digest),
    index("image_claims_team_idx").on(t.teamId),
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
    /** Position in the hash chain (1, 2, …; gaps mean removed rows). See audit-chain.ts. */
    seq: integer("seq"),
    /** `hash` of the row before (the chain's anchor for the first row). */
    prevHash: text("prev_hash"),
    /** HMAC-SHA256 over the row's canonical serialisation and prevHash. */
    hash: text("hash"),
  },
  (t) => [
    index("audit_at_idx").on(t.at),
    index("audit_actor_idx").on(t.actorId),
    uniqueIndex("audit_seq_uq").on(t.seq),
  ],
);

/**
 * Where the audit chain starts after retention archived (and deleted) older rows: the last
 * archived row's seq and hash, sealed with the chain key. The newest anchor is the current one.
 */
export const auditAnchors = sqliteTable("audit_anchors", {
  seq: integer("seq").primaryKey(),
  hash: text("hash").notNull(),
  /** The archive file (under the data dir) holding rows up to `seq`. */
  archive: text("archive").notNull(),
  archivedAt: integer("archived_at", { mode: "timestamp_ms" }).notNull(),
  /** HMAC over seq, hash and archive: an anchor cannot be forged to hide deleted rows. */
  seal: text("seal").notNull(),
});

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

// ---- usage accounting (apps/web/src/server/modules/usage) ----

/** Highest usage sample seq stored per node: samples at or below it are repeats. */
export const usageCursors = sqliteTable("usage_cursors", {
  nodeId: text("node_id").primaryKey(),
  ackedSeq: integer("acked_seq").notNull().default(0),
});

/**
 * Who a container's usage is billed to, stamped when the container is created (or, for one
 * the server never placed, at its first sample) and never rewritten: later changes of team,
 * labels or pools do not move past usage. No foreign keys: it outlives every row it names.
 */
export const usageAttribution = sqliteTable("usage_attribution", {
  containerId: text("container_id").primaryKey(),
  containerName: text("container_name").notNull(),
  teamId: text("team_id").notNull(),
  userId: text("user_id"),
  nodeId: text("node_id").notNull(),
  poolId: text("pool_id"),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
  createdAt: createdAt(),
});

/** Each container's last cumulative sample, from which the next one's deltas are taken. */
export const usageContainerState = sqliteTable("usage_container_state", {
  containerId: text("container_id").primaryKey(),
  epoch: text("epoch").notNull(),
  at: integer("at").notNull(),
  cpuNs: integer("cpu_ns").notNull(),
  memBytes: integer("mem_bytes").notNull(),
  memByteSec: integer("mem_byte_sec").notNull(),
  blkReadBytes: integer("blk_read_bytes").notNull(),
  blkWriteBytes: integer("blk_write_bytes").notNull(),
  netRxBytes: integer("net_rx_bytes").notNull(),
  netTxBytes: integer("net_tx_bytes").notNull(),
  final: integer("final", { mode: "boolean" }).notNull().default(false),
});

const usageRollupColumns = () => ({
  /** Start of the minute / hour, epoch milliseconds (UTC). */
  bucket: integer("bucket").notNull(),
  containerId: text("container_id").notNull(),
  teamId: text("team_id").notNull(),
  userId: text("user_id"),
  nodeId: text("node_id").notNull(),
  poolId: text("pool_id"),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
  cpuNs: integer("cpu_ns").notNull().default(0),
  /** ∫ memory used dt, byte-seconds. */
  memByteSec: integer("mem_byte_sec").notNull().default(0),
  /** ∫ max(limit, used) dt, byte-seconds (OpenCost's allocation). */
  memAllocByteSec: integer("mem_alloc_byte_sec").notNull().default(0),
  netRxBytes: integer("net_rx_bytes").notNull().default(0),
  netTxBytes: integer("net_tx_bytes").notNull().default(0),
  blkReadBytes: integer("blk_read_bytes").notNull().default(0),
  blkWriteBytes: integer("blk_write_bytes").notNull().default(0),
  /** Milliseconds the container ran. */
  runMs: integer("run_ms").notNull().default(0),
});

export const usageMinute = sqliteTable("usage_minute", usageRollupColumns(), (t) => [
  primaryKey({ columns: [t.bucket, t.containerId] }),
  index("usage_minute_team_bucket_idx").on(t.teamId, t.bucket),
]);

export const usageHour = sqliteTable("usage_hour", usageRollupColumns(), (t) => [
  primaryKey({ columns: [t.bucket, t.containerId] }),
  index("usage_hour_team_bucket_idx").on(t.teamId, t.bucket),
]);

/** Price per unit (core USAGE_UNITS); pool_id "" is the default for every pool. */
export const usagePrices = sqliteTable(
  "usage_prices",
  {
    unit: text("unit").notNull(),
    poolId: text("pool_id").notNull().default(""),
    /** Millionths of the currency per unit, so sums stay exact integers. */
    microPrice: integer("micro_price").notNull(),
    updatedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.unit, t.poolId] })],
);

/** A team's monthly budget; crossing a threshold makes a notification and calls the webhook. */
export const usageBudgets = sqliteTable("usage_budgets", {
  teamId: text("team_id")
    .primaryKey()
    .references(() => teams.id, { onDelete: "cascade" }),
  monthlyAmount: integer("monthly_micro_amount").notNull(),
  /** Percentages, e.g. [50, 80, 100]. */
  thresholds: text("thresholds", { mode: "json" }).$type<number[]>().notNull(),
  webhookUrl: text("webhook_url"),
  updatedAt: createdAt(),
});

export const usageNotifications = sqliteTable(
  "usage_notifications",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id, { onDelete: "cascade" }),
    /** `YYYY-MM` (UTC). */
    month: text("month").notNull(),
    threshold: integer("threshold").notNull(),
    /** Spent and budget at the crossing, millionths of the currency. */
    spentMicro: integer("spent_micro").notNull(),
    budgetMicro: integer("budget_micro").notNull(),
    /** "ok", "error: …", or null when there is no webhook. */
    webhookResult: text("webhook_result"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("usage_notifications_uq").on(t.teamId, t.month, t.threshold)],
);

/**
 * Recordings of terminal (exec -t / -i) sessions, written when the server records sessions
 * (BERTH_RECORD_SESSIONS=1): an asciicast v2 file under `<data>/recordings/<id>.cast`. The id is
 * also in the session's `containers.exec` / `containers.exec.end` audit params (`recording`).
 */
export const sessionRecordings = sqliteTable(
  "session_recordings",
  {
    id: text("id").primaryKey(),
    teamId: text("team_id").notNull(),
    userId: text("user_id"),
    username: text("username"),
    containerId: text("container_id").notNull(),
    containerName: text("container_name").notNull(),
    nodeId: text("node_id").notNull(),
    /** The command run, as JSON argv. */
    argv: text("argv", { mode: "json" }).$type<string[]>().notNull(),
    tty: integer("tty", { mode: "boolean" }).notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    /** Null while the session runs (or if the server stopped during it). */
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
    exitCode: integer("exit_code"),
    /** Output bytes recorded (UTF-8), at most the cap. */
    bytes: integer("bytes").notNull().default(0),
    /** The output went past the cap: the file ends with a marker and later output is dropped. */
    truncated: integer("truncated", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    index("session_recordings_team_idx").on(t.teamId, t.startedAt),
    index("session_recordings_started_idx").on(t.startedAt),
  ],
);

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type Team = typeof teams.$inferSelect;
export type RoleRow = typeof roles.$inferSelect;
export type TeamMemberRow = typeof teamMembers.$inferSelect;
export type NodeRow = typeof nodes.$inferSelect;
export type JoinToken = typeof joinTokens.$inferSelect;
export type PoolRow = typeof pools.$inferSelect;
export type ContainerRow = typeof containers.$inferSelect;
export type VolumeRow = typeof volumes.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type AuditAnchor = typeof auditAnchors.$inferSelect;
export type ContainerEventRow = typeof containerEvents.$inferSelect;
export type RegistryCredentialRow = typeof registryCredentials.$inferSelect;
export type RegistryRepositoryRow = typeof registryRepositories.$inferSelect;
export type UsageAttributionRow = typeof usageAttribution.$inferSelect;
export type UsageRollupRow = typeof usageHour.$inferSelect;
export type UsageBudgetRow = typeof usageBudgets.$inferSelect;
export type UsageNotificationRow = typeof usageNotifications.$inferSelect;
export type SessionRecordingRow = typeof sessionRecordings.$inferSelect;
export type ImageClaimRow = typeof imageClaims.$inferSelect;
