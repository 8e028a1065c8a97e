/**
 * First-start state: the default team, the admin user (owner of the default team), the server's
 * stable identity, and — when asked — a fresh join token for the local agent.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newId, newSecret } from "@berth/core";
import { eq, teamMembers, teams, users, type Db } from "@berth/db";
import { hashPassword } from "./modules/auth/auth.service";
import { JoinTokensService } from "./modules/join-tokens/join-tokens.service";

export const DEFAULT_TEAM = "default";
export const BOOTSTRAP_TOKEN_FILE = "bootstrap-join-token";
const BOOTSTRAP_TOKEN_TTL_S = 24 * 3600;

export interface BootstrapResult {
  defaultTeamId: string;
  /** Set only when the admin was created now with a generated password (print it once). */
  generatedAdmin: { username: string; password: string } | null;
}

export async function bootstrapDatabase(
  db: Db,
  opts: { adminUser: string; adminPassword?: string | undefined },
): Promise<BootstrapResult> {
  let team = db.select().from(teams).where(eq(teams.name, DEFAULT_TEAM)).get();
  if (!team) team = db.insert(teams).values({ id: newId(), name: DEFAULT_TEAM }).returning().get();
  let generatedAdmin: BootstrapResult["generatedAdmin"] = null;
  const anyUser = db.select({ id: users.id }).from(users).limit(1).get();
  if (!anyUser) {
    const password = opts.adminPassword ?? newSecret(18);
    const passwordHash = await hashPassword(password);
    const id = newId();
    const teamId = team.id;
    db.transaction((tx) => {
      tx.insert(users).values({ id, username: opts.adminUser, passwordHash, isAdmin: true }).run();
      tx.insert(teamMembers).values({ teamId, userId: id, role: "owner" }).run();
    });
    if (!opts.adminPassword) generatedAdmin = { username: opts.adminUser, password };
  }
  return { defaultTeamId: team.id, generatedAdmin };
}

/** The server's identity, generated once and kept in the data dir (agents pin it). */
export function loadServerId(dataDir: string): string {
  const file = join(dataDir, "server-id");
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (/^[a-z2-7]{26}$/.test(id)) return id;
    throw new Error(
      `${file} is corrupt: expected a 26-character id, found ${JSON.stringify(id.slice(0, 40))}`,
    );
  }
  const id = newId();
  writeFileSync(file, `${id}\n`, { mode: 0o644, flag: "wx" });
  return id;
}

/** Writes a fresh join token to `<dataDir>/bootstrap-join-token` (mode 0600, atomically). */
export function writeBootstrapJoinToken(db: Db, dataDir: string, publicUrl: string): string {
  const { token } = new JoinTokensService(db, publicUrl).create(null, BOOTSTRAP_TOKEN_TTL_S);
  const file = join(dataDir, BOOTSTRAP_TOKEN_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

/** The one-time banner with a generated admin password. */
export function adminPasswordBanner(username: string, password: string): string {
  const lines = [
    "berth-server created the first administrator:",
    "",
    `  username: ${username}`,
    `  password: ${password}`,
    "",
    "This password is shown once. Sign in and keep it safe.",
  ];
  const width = Math.max(...lines.map((l) => l.length)) + 2;
  const bar = "─".repeat(width);
  return [`┌${bar}┐`, ...lines.map((l) => `│ ${l.padEnd(width - 1)}│`), `└${bar}┘`].join("\n");
}
