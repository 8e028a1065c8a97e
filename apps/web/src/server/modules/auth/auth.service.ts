/**
 * Users, passwords (argon2id), browser sessions and API tokens.
 * Sessions: a random secret in the `berth_session` cookie, its sha256 in the table, 14 days; a
 * sign-in always starts a new session (the presented one is dropped: no fixation).
 * API tokens: `berth_<secret>`, shown once, stored as sha256, optionally scoped to a subset of
 * permissions and expiring; their use is audited once per token per hour.
 * Sign-in attempts are rate limited per account and per address (login-limiter.ts).
 */
import { hash, verify } from "@node-rs/argon2";
import {
  ApiTokenCreateInputSchema,
  ChangePasswordInputSchema,
  DomainError,
  isPermission,
  newId,
  newSecret,
  notFound,
  type ApiTokenCreateInput,
  type ApiTokenView,
  type ChangePasswordInput,
  type Permission,
} from "@berth/core";
import {
  and,
  apiTokens,
  desc,
  eq,
  isNull,
  lte,
  sessions,
  teamMembers,
  users,
  type ApiToken,
  type Db,
  type User,
} from "@berth/db";
import { sha256Hex } from "../../security";
import type { AuditEntry } from "../audit/audit.service";
import { describeWait, LoginLimiter } from "./login-limiter";
import { narrowScopes } from "./token-scopes";

export const SESSION_COOKIE = "berth_session";
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;
export const API_TOKEN_PREFIX = "berth_";
/** A token's use is audited at most once per this interval. */
export const TOKEN_USE_AUDIT_INTERVAL_MS = 3600 * 1000;
/** `last_used_at` is written at most once per this interval (not on every request). */
const LAST_USED_RESOLUTION_MS = 60 * 1000;

/** argon2id (the library's default algorithm) with OWASP's suggested cost. */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface AuthUser {
  id: string;
  username: string;
  isAdmin: boolean;
  /** Signed in with an API token: its id. */
  tokenId?: string;
  /** The API token's scopes (null: all of the user's); absent for sessions. */
  tokenScopes?: Permission[] | null;
}

export function toAuthUser(u: Pick<User, "id" | "username" | "isAdmin">): AuthUser {
  return { id: u.id, username: u.username, isAdmin: u.isAdmin };
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export function toApiTokenView(t: ApiToken): ApiTokenView {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes ?? null,
    createdAt: t.createdAt.getTime(),
    expiresAt: t.expiresAt?.getTime() ?? null,
    lastUsedAt: t.lastUsedAt?.getTime() ?? null,
    revokedAt: t.revokedAt?.getTime() ?? null,
  };
}

let dummyHash: Promise<string> | undefined;

export class AuthService {
  private readonly limiter: LoginLimiter;
  /** When each token's use was last audited (this process). */
  private readonly tokenUseAudited = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
    private readonly audit?: { record(entry: AuditEntry): void },
  ) {
    this.limiter = new LoginLimiter(() => this.now().getTime());
  }

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

  /**
   * verifyPassword behind the sign-in rate limits (per account and per address): every password
   * check on behalf of a caller goes through here (tRPC sign-in, the registry's token endpoint).
   * The attempt is counted as failed before the hash runs and withdrawn if it succeeds.
   */
  async checkSignIn(username: string, password: string, address: string | null): Promise<User> {
    const decision = this.limiter.reserve(username, address);
    if (!decision.allowed || decision.at === undefined) {
      const who = decision.scope === "account" ? `for ${username}` : "from your address";
      throw new DomainError(
        "forbidden",
        `too many failed sign-ins ${who}: try again in ${describeWait(decision.retryAfterMs)}`,
        { retryAfterSeconds: Math.ceil(decision.retryAfterMs / 1000) },
      );
    }
    try {
      const user = await this.verifyPassword(username, password);
      this.limiter.settle(username, address, decision.at, "success");
      return user;
    } catch (e) {
      const failed = e instanceof DomainError && e.kind === "unauthenticated";
      this.limiter.settle(username, address, decision.at, failed ? "failure" : "not_failure");
      throw e;
    }
  }

  private newSession(userId: string, address: string | null) {
    const secret = newSecret();
    const now = this.now();
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    this.db
      .delete(sessions)
      .where(and(eq(sessions.userId, userId), lte(sessions.expiresAt, now)))
      .run();
    this.db
      .insert(sessions)
      .values({ id: newId(), tokenHash: sha256Hex(secret), userId, expiresAt, address })
      .run();
    return { sessionSecret: secret, expiresAt };
  }

  /**
   * Signs in: returns the user and a new session secret for the cookie. The session the browser
   * presented (if any) is ended: a sign-in never keeps a session id chosen before it.
   */
  async login(
    username: string,
    password: string,
    address: string | null,
    previousSessionSecret?: string | null,
  ) {
    const user = await this.checkSignIn(username, password, address);
    if (previousSessionSecret) this.logout(previousSessionSecret);
    return { user: toAuthUser(user), ...this.newSession(user.id, address) };
  }

  logout(sessionSecret: string): void {
    this.db
      .delete(sessions)
      .where(eq(sessions.tokenHash, sha256Hex(sessionSecret)))
      .run();
  }

  /** Ends every session of the user, and with `tokens` revokes every API token too. */
  logoutEverywhere(userId: string, options: { tokens?: boolean } = {}) {
    const s = this.db.delete(sessions).where(eq(sessions.userId, userId)).run();
    const t = options.tokens
      ? this.db
          .update(apiTokens)
          .set({ revokedAt: this.now() })
          .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
          .run()
      : { changes: 0 };
    return { sessionsEnded: s.changes, tokensRevoked: t.changes };
  }

  /**
   * Changes a password (the current one is required). Every session ends; the caller gets a new
   * one for their browser. API tokens stay (revoke them with logoutEverywhere).
   */
  async changePassword(userId: string, rawInput: ChangePasswordInput, address: string | null) {
    const input = ChangePasswordInputSchema.parse(rawInput);
    const user = this.db.select().from(users).where(eq(users.id, userId)).get();
    if (!user) throw notFound("no such user");
    const ok = await verify(user.passwordHash, input.currentPassword).catch(() => false);
    if (!ok) throw new DomainError("forbidden", "the current password is wrong");
    if (input.newPassword === input.currentPassword)
      throw new DomainError("invalid_input", "choose a password different from the current one");
    const passwordHash = await hashPassword(input.newPassword);
    this.db.update(users).set({ passwordHash }).where(eq(users.id, userId)).run();
    this.db.delete(sessions).where(eq(sessions.userId, userId)).run();
    return { user: toAuthUser(user), ...this.newSession(userId, address) };
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

  /**
   * Creates an API token for the CLI or automation; the token is returned once. `input`: a name
   * (unscoped, with `ttlMs` optional) or the full creation input.
   */
  createApiToken(
    userId: string,
    rawInput: string | ApiTokenCreateInput,
    ttlMs?: number,
  ): { id: string; token: string; view: ApiTokenView } {
    const input = ApiTokenCreateInputSchema.parse(
      typeof rawInput === "string" ? { name: rawInput } : rawInput,
    );
    const token = `${API_TOKEN_PREFIX}${newSecret()}`;
    const id = newId();
    const now = this.now();
    const lifetime =
      input.expiresInDays === undefined ? ttlMs : input.expiresInDays * 24 * 3600 * 1000;
    const expiresAt = lifetime === undefined ? null : new Date(now.getTime() + lifetime);
    const scopes = input.scopes ? [...new Set(input.scopes)] : null;
    this.db
      .insert(apiTokens)
      .values({
        id,
        userId,
        name: input.name,
        tokenHash: sha256Hex(token),
        expiresAt,
        scopes,
        createdAt: now,
      })
      .run();
    const row = this.db.select().from(apiTokens).where(eq(apiTokens.id, id)).get()!;
    return { id, token, view: toApiTokenView(row) };
  }

  /**
   * A token created by `caller`: when the caller is itself an API token, the new one stays
   * within its scopes and does not outlive it (no escalation or extension through creation).
   */
  createApiTokenFor(caller: AuthUser, rawInput: ApiTokenCreateInput) {
    const input = narrowScopes(caller.tokenScopes, ApiTokenCreateInputSchema.parse(rawInput));
    const parent = caller.tokenId
      ? this.db.select().from(apiTokens).where(eq(apiTokens.id, caller.tokenId)).get()
      : undefined;
    const made = this.createApiToken(caller.id, input);
    if (
      parent?.expiresAt &&
      (!made.view.expiresAt || made.view.expiresAt > parent.expiresAt.getTime())
    ) {
      this.db
        .update(apiTokens)
        .set({ expiresAt: parent.expiresAt })
        .where(eq(apiTokens.id, made.id))
        .run();
      return { ...made, view: { ...made.view, expiresAt: parent.expiresAt.getTime() } };
    }
    return made;
  }

  /** The user's tokens (never their secrets), newest first; revoked ones only with `all`. */
  listApiTokens(userId: string, options: { all?: boolean } = {}): ApiTokenView[] {
    return this.db
      .select()
      .from(apiTokens)
      .where(
        options.all
          ? eq(apiTokens.userId, userId)
          : and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)),
      )
      .orderBy(desc(apiTokens.createdAt))
      .all()
      .map(toApiTokenView);
  }

  /** Revokes one of the user's tokens by id or name. */
  revokeApiToken(userId: string, ref: string): ApiTokenView {
    const active = and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt));
    let rows = this.db
      .select()
      .from(apiTokens)
      .where(and(active, eq(apiTokens.id, ref)))
      .all();
    if (rows.length === 0)
      rows = this.db
        .select()
        .from(apiTokens)
        .where(and(active, eq(apiTokens.name, ref)))
        .all();
    if (rows.length === 0) throw notFound(`no active token ${ref} (see \`berth token ls\`)`);
    if (rows.length > 1)
      throw new DomainError("conflict", `several tokens are named ${ref}: revoke one by id`);
    const row = rows[0]!;
    const revokedAt = this.now();
    this.db.update(apiTokens).set({ revokedAt }).where(eq(apiTokens.id, row.id)).run();
    return toApiTokenView({ ...row, revokedAt });
  }

  /** Signs in the CLI: password check (rate limited), then a new API token. */
  async cliLogin(
    username: string,
    password: string,
    tokenName: string,
    address: string | null = null,
  ) {
    const user = await this.checkSignIn(username, password, address);
    const { token } = this.createApiToken(user.id, tokenName);
    return { token, user: toAuthUser(user) };
  }

  /**
   * The user an API token belongs to with the token's scopes, or null (unknown, revoked,
   * expired, disabled user). The token's use is audited once per hour; a revoked or expired
   * token's attempts too (as denied).
   */
  userForApiToken(token: string, address: string | null = null): AuthUser | null {
    if (!token.startsWith(API_TOKEN_PREFIX)) return null;
    const row = this.db
      .select({ user: users, token: apiTokens })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(eq(apiTokens.tokenHash, sha256Hex(token)))
      .get();
    if (!row) return null;
    const now = this.now();
    const t = row.token;
    const refusal = t.revokedAt
      ? "the token was revoked"
      : t.expiresAt && t.expiresAt.getTime() <= now.getTime()
        ? "the token expired"
        : row.user.disabled
          ? `user ${row.user.username} is disabled`
          : null;
    this.auditTokenUse(row.user, t, address, refusal);
    if (refusal) return null;
    if (!t.lastUsedAt || now.getTime() - t.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS)
      this.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, t.id)).run();
    const scopes = t.scopes ? t.scopes.filter(isPermission) : null;
    return { ...toAuthUser(row.user), tokenId: t.id, tokenScopes: scopes };
  }

  private auditTokenUse(user: User, t: ApiToken, address: string | null, refusal: string | null) {
    if (!this.audit) return;
    const now = this.now().getTime();
    const key = `${t.id}:${refusal ? "denied" : "ok"}`;
    const last = this.tokenUseAudited.get(key);
    if (last !== undefined && now - last < TOKEN_USE_AUDIT_INTERVAL_MS) return;
    this.tokenUseAudited.delete(key);
    this.tokenUseAudited.set(key, now);
    if (this.tokenUseAudited.size > 10_000)
      this.tokenUseAudited.delete(this.tokenUseAudited.keys().next().value as string);
    this.audit.record({
      actorId: user.id,
      actorName: user.username,
      teamId: null,
      action: "auth.token.use",
      target: t.name,
      params: { tokenId: t.id },
      result: refusal ? "denied" : "ok",
      error: refusal,
      address,
    });
  }

  /** The team a user acts in: their first membership. */
  teamOf(userId: string): { teamId: string; role: string } | null {
    const m = this.db.select().from(teamMembers).where(eq(teamMembers.userId, userId)).get();
    return m ? { teamId: m.teamId, role: m.role } : null;
  }
}
