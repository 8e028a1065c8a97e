/**
 * Users, passwords (argon2id), browser sessions and API tokens.
 * Sessions: a random secret in the `berth_session` cookie, its sha256 in the table, 14 days.
 * API tokens: `berth_<secret>`, shown once, stored as sha256.
 */
import { hash, verify } from "@node-rs/argon2";
import { DomainError, newId, newSecret } from "@berth/core";
import {
  and,
  apiTokens,
  eq,
  isNull,
  sessions,
  teamMembers,
  users,
  type Db,
  type User,
} from "@berth/db";
import { sha256Hex } from "../../security";

export const SESSION_COOKIE = "berth_session";
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;
export const API_TOKEN_PREFIX = "berth_";

/** argon2id (the library's default algorithm) with OWASP's suggested cost. */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface AuthUser {
  id: string;
  username: string;
  isAdmin: boolean;
}

export function toAuthUser(u: Pick<User, "id" | "username" | "isAdmin">): AuthUser {
  return { id: u.id, username: u.username, isAdmin: u.isAdmin };
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

let dummyHash: Promise<string> | undefined;

export class AuthService {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Checks a username and password; the same error for an unknown user and a wrong password. */
  async verifyPassword(username: string, password: string): Promise<User> {
    const user = this.db.select().from(users).where(eq(users.username, username)).get();
    if (!user) {
      // Spend the same time as a real check so usernames cannot be probed by timing.
      dummyHash ??= hashPassword(newSecret());
      await verify(await dummyHash, password).catch(() => false);
      throw new DomainError("unauthenticated", "invalid username or password");
    }
    const ok = await verify(user.passwordHash, password).catch(() => false);
    if (!ok) throw new DomainError("unauthenticated", "invalid username or password");
    if (user.disabled) throw new DomainError("forbidden", `user ${user.username} is disabled`);
    return user;
  }

  /** Signs in: returns the user and a new session secret for the cookie. */
  async login(username: string, password: string, address: string | null) {
    const user = await this.verifyPassword(username, password);
    const secret = newSecret();
    const expiresAt = new Date(this.now().getTime() + SESSION_TTL_MS);
    this.db
      .insert(sessions)
      .values({ id: newId(), tokenHash: sha256Hex(secret), userId: user.id, expiresAt, address })
      .run();
    return { user: toAuthUser(user), sessionSecret: secret, expiresAt };
  }

  logout(sessionSecret: string): void {
    this.db
      .delete(sessions)
      .where(eq(sessions.tokenHash, sha256Hex(sessionSecret)))
      .run();
  }

  /** The user a session cookie belongs to, or null (unknown, expired, disabled user). */
  userForSession(sessionSecret: string): AuthUser | null {
    const row = this.db
      .select({ user: users, expiresAt: sessions.expiresAt, id: sessions.id })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(sessions.tokenHash, sha256Hex(sessionSecret)))
      .get();
    if (!row) return null;
    if (row.expiresAt.getTime() <= this.now().getTime()) {
      this.db.delete(sessions).where(eq(sessions.id, row.id)).run();
      return null;
    }
    return row.user.disabled ? null : toAuthUser(row.user);
  }

  /** Creates an API token for the CLI or automation; the token is returned once. */
  createApiToken(userId: string, name: string, ttlMs?: number): { id: string; token: string } {
    const token = `${API_TOKEN_PREFIX}${newSecret()}`;
    const id = newId();
    const expiresAt = ttlMs === undefined ? null : new Date(this.now().getTime() + ttlMs);
    this.db
      .insert(apiTokens)
      .values({ id, userId, name, tokenHash: sha256Hex(token), expiresAt })
      .run();
    return { id, token };
  }

  /** Signs in the CLI: password check, then a new API token. */
  async cliLogin(username: string, password: string, tokenName: string) {
    const user = await this.verifyPassword(username, password);
    const { token } = this.createApiToken(user.id, tokenName);
    return { token, user: toAuthUser(user) };
  }

  /** The user an API token belongs to, or null (unknown, revoked, expired, disabled user). */
  userForApiToken(token: string): AuthUser | null {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    const row = this.db
      .select({ user: users, id: apiTokens.id, expiresAt: apiTokens.expiresAt })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(and(eq(apiTokens.tokenHash, sha256Hex(token)), isNull(apiTokens.revokedAt)))
      .get();
    if (!row || row.user.disabled) return null;
    const now = this.now();
    if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return null;
    this.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id)).run();
    return toAuthUser(row.user);
  }

  /** The team a user acts in: their first membership. */
  teamOf(userId: string): { teamId: string; role: "owner" | "operator" | "viewer" } | null {
    const m = this.db.select().from(teamMembers).where(eq(teamMembers.userId, userId)).get();
    return m ? { teamId: m.teamId, role: m.role } : null;
  }
}
