/**
 * Registry bearer tokens: compact HS256 JWTs signed with a server secret kept in the data dir
 * (`<data>/registry/token.key`, mode 0600), valid five minutes, carrying the repositories and
 * actions granted (`access`, as in distribution's token spec).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";

export const TOKEN_TTL_SECONDS = 300;
export const TOKEN_ISSUER = "berth";
export const TOKEN_SERVICE = "berth";

export type RegistryAction = "pull" | "push" | "delete";

export const AccessEntrySchema = z.object({
  type: z.enum(["repository", "registry"]),
  name: z.string().max(512),
  actions: z.array(z.string().max(16)).max(8),
});
export type AccessEntry = z.infer<typeof AccessEntrySchema>;

const ClaimsSchema = z.object({
  iss: z.literal(TOKEN_ISSUER),
  aud: z.literal(TOKEN_SERVICE),
  sub: z.string().max(64),
  exp: z.number(),
  nbf: z.number(),
  iat: z.number(),
  jti: z.string().max(64),
  access: z.array(AccessEntrySchema).max(64),
  /** Node tokens (`sub` = `node:<id>`): the team the node pulls for. */
  team: z.string().max(64).optional(),
});
export type TokenClaims = z.infer<typeof ClaimsSchema>;

/** Reads the signing secret, creating it (32 random bytes, 0600) on first use. */
export function loadOrCreateTokenKey(file: string): Buffer {
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "hex");
    if (key.length < 32) throw new Error(`${file}: the registry token key is too short`);
    return key;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${key.toString("hex")}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return key;
}

const b64 = (v: string | Buffer) => Buffer.from(v).toString("base64url");
const HEADER = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));

export class TokenSigner {
  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = () => Date.now(),
  ) {}

  sign(sub: string, access: AccessEntry[], ttlSeconds = TOKEN_TTL_SECONDS, team?: string) {
    const iat = Math.floor(this.now() / 1000);
    const claims: TokenClaims = {
      iss: TOKEN_ISSUER,
      aud: TOKEN_SERVICE,
      sub,
      iat,
      nbf: iat - 5,
      exp: iat + ttlSeconds,
      jti: randomBytes(12).toString("hex"),
      access,
      ...(team === undefined ? {} : { team }),
    };
    const input = `${HEADER}.${b64(JSON.stringify(claims))}`;
    const sig = createHmac("sha256", this.key).update(input).digest("base64url");
    return { token: `${input}.${sig}`, claims };
  }

  /** The claims of a valid token (signature, issuer, audience, time), or null. */
  verify(token: string): TokenClaims | null {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== HEADER) return null;
    const expected = createHmac("sha256", this.key).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2]!, "base64url");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    } catch {
      return null;
    }
    const r = ClaimsSchema.safeParse(raw);
    if (!r.success) return null;
    const nowS = this.now() / 1000;
    if (r.data.exp <= nowS || r.data.nbf > nowS + 5) return null;
    return r.data;
  }
}

/** Parses `repository:<name>:<a,b>` / `registry:catalog:*` scopes; malformed ones are dropped. */
export function parseScopes(scopes: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const s of scopes.flatMap((x) => x.split(" "))) {
    const first = s.indexOf(":");
    const last = s.lastIndexOf(":");
    if (first <= 0 || last === first) continue;
    const type = s.slice(0, first);
    // A name may carry a host port in other registries' scopes (`repository:h:5000/x:pull`).
    const name = s.slice(first + 1, last);
    const actions = s
      .slice(last + 1)
      .split(",")
      .filter((a) => a.length > 0);
    if ((type !== "repository" && type !== "registry") || !name || actions.length === 0) continue;
    out.push({ type, name, actions: [...new Set(actions)].slice(0, 8) });
  }
  return out.slice(0, 64);
}
