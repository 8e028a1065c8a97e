/**
 * The OCI distribution API at `/v2/` (distribution-spec v1.1) and its token endpoint
 * (`/v2/token`, distribution's Bearer token flow):
 *
 *   GET  /v2/                                          API check (200 when authenticated)
 *   GET  /v2/token?service=berth&scope=…               Basic (password or API token) → Bearer JWT
 *   GET  /v2/_catalog?n=&last=                         repositories the caller may pull
 *   GET  /v2/<name>/tags/list?n=&last=                 tags, paginated with Link
 *   GET|HEAD|PUT|DELETE /v2/<name>/manifests/<ref>     by tag or digest
 *   GET|HEAD|DELETE     /v2/<name>/blobs/<digest>      (GET with Range)
 *   POST /v2/<name>/blobs/uploads/[?digest=|?mount=&from=]
 *   GET|PATCH|PUT|DELETE /v2/<name>/blobs/uploads/<uuid>[?digest=]
 *   GET  /v2/<name>/referrers/<digest>[?artifactType=]
 *
 * Access: a Bearer token from /v2/token (or a Berth API token used directly as Bearer); nodes
 * get a pull-only token for a team with their node credential (registry-node-auth.ts); public
 * repositories grant anonymous pull; a team's storage quota is checked when a blob is stored. A
 * token lacking a scope the caller's role would grant gets 401 `insufficient_scope` (the
 * client fetches a wider token); a scope the role does not grant gets 403 DENIED. Pushes
 * (manifest PUT), pulls (manifest GET), deletes and denials are audited.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { DomainError } from "@berth/core";
import type { Db } from "@berth/db";
import type { AuthUser } from "../modules/auth/auth.service";
import { API_TOKEN_PREFIX } from "../modules/auth/auth.service";
import type { Services } from "../services";
import { RegistryAccess } from "./registry-access";
import { checkQuota } from "./registry-settings";
import {
  isNodeUsername,
  NODE_SUBJECT_PREFIX,
  NodeAuthError,
  nodeCallerOf,
  verifyNodeCredential,
  type NodeCaller,
} from "./registry-node-auth";
import { errorBody, isRegistryError, RegistryError } from "./registry-errors";
import { parseManifest, OCI_INDEX } from "./registry-manifests";
import { isDigest, parseDigest, validateName, validateTag } from "./registry-names";
import { MAX_MANIFEST_BYTES, RegistryStorage, type Descriptor } from "./registry-storage";
import {
  loadOrCreateTokenKey,
  parseScopes,
  TOKEN_SERVICE,
  TOKEN_TTL_SECONDS,
  TokenSigner,
  type AccessEntry,
  type RegistryAction,
} from "./registry-token";

export const REGISTRY_BASE_PATH = "/v2";
export const REGISTRY_TOKEN_PATH = "/v2/token";
/** Largest tags/list or _catalog page. */
const MAX_PAGE = 1000;

export function isRegistryPath(path: string): boolean {
  return path === REGISTRY_BASE_PATH || path.startsWith(`${REGISTRY_BASE_PATH}/`);
}

export interface RegistryDeps {
  db: Db;
  services: Pick<Services, "auth" | "audit">;
  storage: RegistryStorage;
  signer: TokenSigner;
  /** berth-server's public URL, without a trailing slash (the token realm lives there). */
  publicUrl: string;
  onError?: ((message: string) => void) | undefined;
}

/** The registry's parts from the data dir: storage under `<data>/registry`, key in `<data>/registry-token.key`. */
export function registryFromDataDir(
  dataDir: string,
  publicUrl: string,
): Omit<RegistryDeps, "db" | "services" | "onError"> {
  return {
    storage: new RegistryStorage(join(dataDir, "registry")),
    signer: new TokenSigner(loadOrCreateTokenKey(join(dataDir, "registry-token.key"))),
    publicUrl,
  };
}

interface Caller {
  user: AuthUser | null;
  /** A node pulling on behalf of a team (node credential at the token endpoint). */
  node?: NodeCaller;
  /** Token grants, or "role" for an API token used directly (the role decides alone). */
  grants: AccessEntry[] | "role";
}

const ROUTES: { re: RegExp; kind: "tags" | "manifest" | "uploads" | "blob" | "referrers" }[] = [
  { re: /^\/v2\/(.+)\/tags\/list$/, kind: "tags" },
  { re: /^\/v2\/(.+)\/manifests\/([^/]+)$/, kind: "manifest" },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/?([^/]*)$/, kind: "uploads" },
  { re: /^\/v2\/(.+)\/blobs\/([^/]+)$/, kind: "blob" },
  { re: /^\/v2\/(.+)\/referrers\/([^/]+)$/, kind: "referrers" },
];

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers["content-length"];
  if (len !== undefined) return Number(len) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

/** Reads a body of at most `limit` bytes; past that, 413 SIZE_INVALID (the rest is drained). */
function readBounded(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        req.off("data", onData);
        req.resume();
        reject(
          new RegistryError(
            "SIZE_INVALID",
            `the manifest is larger than ${limit} bytes`,
            undefined,
            413,
          ),
        );
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/**
 * Writes bytes [start, end] of a file to the response with two reused 1 MiB buffers (one being
 * read while the other is on its way to the socket): no allocation per chunk, so no GC churn on
 * large pulls. Ends (or destroys) the response.
 */
async function sendFileRange(res: ServerResponse, path: string, start: number, end: number) {
  const CHUNK = 1024 * 1024;
  const fh = await open(path, "r");
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  const inFlight: (Promise<void> | null)[] = [null, null];
  // A write callback may never come once the socket is gone: stop waiting when it closes.
  const closed = new Promise<void>((resolve) => res.once("close", () => resolve()));
  let pos = start;
  let i = 0;
  try {
    while (pos <= end) {
      await Promise.race([inFlight[i], closed]);
      if (res.destroyed) return;
      const want = Math.min(CHUNK, end - pos + 1);
      const { bytesRead } = await fh.read(bufs[i]!, 0, want, pos);
      if (bytesRead === 0) throw new Error(`${path}: file shorter than expected`);
      pos += bytesRead;
      const chunk = bufs[i]!.subarray(0, bytesRead);
      inFlight[i] = new Promise<void>((resolve) => res.write(chunk, () => resolve()));
      i ^= 1;
    }
    await Promise.race([Promise.all(inFlight), closed]);
    res.end();
  } catch {
    res.destroy();
  } finally {
    await fh.close();
  }
}

function pageParams(url: URL): { n: number | null; last: string | null } {
  const nRaw = url.searchParams.get("n");
  let n: number | null = null;
  if (nRaw !== null) {
    if (!/^\d{1,9}$/.test(nRaw))
      throw new RegistryError("UNSUPPORTED", "n must be a non-negative integer", undefined, 400);
    n = Math.min(Number(nRaw), MAX_PAGE);
  }
  return { n, last: url.searchParams.get("last") };
}

/** One page of a sorted list, with the `Link` of the next page when there is one. */
function paginate(all: string[], url: URL, path: string) {
  const { n, last } = pageParams(url);
  const rest = last === null ? all : all.filter((x) => x > last);
  const size = n ?? MAX_PAGE;
  const items = rest.slice(0, size);
  const more = rest.length > items.length && items.length > 0;
  const link = more
    ? `<${path}?n=${size}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"`
    : null;
  return { items, link };
}

export function createRegistryRoutes(deps: RegistryDeps) {
  const { storage, signer, services } = deps;
  const access = new RegistryAccess(deps.db);
  const settings = access.settings;

  /**
   * Quota check for a blob about to be stored in `name` (upload completion or mount): a blob
   * the team already holds is free; past the quota, DENIED (audited as a push).
   */
  async function admit(
    req: IncomingMessage,
    caller: Caller,
    name: string,
    digest: string,
    size: number,
  ) {
    const team = access.teamOf(name);
    if (!team) return;
    try {
      await checkQuota(settings, storage, team, digest, size);
    } catch (e) {
      audit(
        req,
        caller,
        "registry.push",
        name,
        `${name}@${digest}`,
        "denied",
        (e as Error).message,
        {
          blob: true,
          size,
        },
      );
      throw e;
    }
  }

  /** Refreshes the repository's recorded size (after a push or a delete). */
  async function recordSize(name: string, pushed: boolean) {
    const size = [...(await storage.blobSizes([name])).values()].reduce((a, b) => a + b, 0);
    const teamId = access.teamOf(name)?.id ?? null;
    if (pushed) settings.pushed(name, teamId, size);
    else settings.sized(name, teamId, size);
  }
  const realm = `${deps.publicUrl}${REGISTRY_TOKEN_PATH}`;

  function send(
    res: ServerResponse,
    status: number,
    headers: Record<string, string | number>,
    body?: string | Buffer,
  ) {
    res.writeHead(status, {
      "docker-distribution-api-version": "registry/2.0",
      ...(body === undefined
        ? { "content-length": 0 }
        : { "content-length": Buffer.byteLength(body) }),
      ...headers,
    });
    res.end(body);
  }
  function sendJson(
    res: ServerResponse,
    status: number,
    value: unknown,
    headers: Record<string, string> = {},
  ) {
    send(res, status, { "content-type": "application/json", ...headers }, JSON.stringify(value));
  }

  function challenge(scope: string | null, error?: "invalid_token" | "insufficient_scope") {
    return `Bearer realm="${realm}",service="${TOKEN_SERVICE}"${scope ? `,scope="${scope}"` : ""}${error ? `,error="${error}"` : ""}`;
  }

  function audit(
    req: IncomingMessage,
    caller: Caller | null,
    action: string,
    repository: string | null,
    target: string | null,
    result: "ok" | "denied" | "error",
    error: string | null,
    params: Record<string, unknown> = {},
    actorName?: string,
  ) {
    const node = caller?.node;
    services.audit.record({
      actorId: caller?.user?.id ?? null,
      actorName: node ? `node:${node.name}` : (caller?.user?.username ?? actorName ?? null),
      teamId: node ? node.teamId : repository ? (access.teamOf(repository)?.id ?? null) : null,
      action,
      target,
      params: {
        method: req.method,
        ...(node ? { node: node.id, onBehalfOfTeam: node.teamName } : {}),
        ...params,
      },
      result,
      error,
      address: req.socket.remoteAddress ?? null,
    });
  }

  /** Who calls: a registry token, an API token as Bearer, or nobody. Invalid credentials → 401. */
  function authenticate(req: IncomingMessage): Caller {
    const h = req.headers.authorization;
    if (!h) return { user: null, grants: [] };
    const bearer = /^Bearer\s+(\S+)$/i.exec(h)?.[1];
    if (bearer?.startsWith(API_TOKEN_PREFIX)) {
      const user = services.auth.userForApiToken(bearer);
      if (!user) throw new RegistryError("UNAUTHORIZED", "invalid API token");
      return { user, grants: "role" };
    }
    if (bearer) {
      const claims = signer.verify(bearer);
      if (!claims) throw new RegistryError("UNAUTHORIZED", "invalid or expired token");
      if (claims.sub.startsWith(NODE_SUBJECT_PREFIX)) {
        const node = nodeCallerOf(deps.db, claims.sub, claims.team);
        if (!node)
          throw new RegistryError("UNAUTHORIZED", "the token's node or team is no longer active");
        return { user: null, node, grants: claims.access };
      }
      const user = claims.sub ? access.user(claims.sub) : null;
      if (claims.sub && !user)
        throw new RegistryError("UNAUTHORIZED", "the token's user is no longer active");
      return { user, grants: claims.access };
    }
    // Basic with an API token as the password works directly (no argon2 on every request).
    const basic = /^Basic\s+(\S+)$/i.exec(h)?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, "base64").toString("utf8");
      const password = decoded.slice(decoded.indexOf(":") + 1);
      const user = password.startsWith(API_TOKEN_PREFIX)
        ? services.auth.userForApiToken(password)
        : null;
      if (user) return { user, grants: "role" };
    }
    throw new RegistryError("UNAUTHORIZED", "authentication required");
  }

  /** What the caller's identity allows on `name` (a node: its team's pull right only). */
  function allowedActions(caller: Caller, name: string): RegistryAction[] {
    return caller.node
      ? access.teamActions(caller.node.teamId, name)
      : access.actions(caller.user, name);
  }

  function granted(caller: Caller, name: string, action: RegistryAction): boolean {
    if (!allowedActions(caller, name).includes(action)) return false;
    if (caller.grants === "role") return true;
    return caller.grants.some(
      (g) =>
        g.type === "repository" &&
        g.name === name &&
        (g.actions.includes(action) || g.actions.includes("*")),
    );
  }

  /** Requires `action` on `name`: 401 (no or too narrow a token) or 403 DENIED (not allowed). */
  function requireAction(
    req: IncomingMessage,
    caller: Caller,
    name: string,
    action: RegistryAction,
    scopeActions: string,
  ) {
    if (granted(caller, name, action)) return;
    const scope = `repository:${name}:${scopeActions}`;
    if (caller.node) {
      const message = `node ${caller.node.name} may not ${action} ${name} for team ${caller.node.teamName}`;
      audit(req, caller, `registry.${action}`, name, name, "denied", message);
      throw new RegistryError("DENIED", message, { repository: name, action });
    }
    if (!caller.user)
      throw Object.assign(
        new RegistryError("UNAUTHORIZED", "authentication required", [
          { Type: "repository", Name: name, Action: action },
        ]),
        { scope },
      );
    if (access.actions(caller.user, name).includes(action))
      throw Object.assign(
        new RegistryError("UNAUTHORIZED", "the token does not cover this action", [
          { Type: "repository", Name: name, Action: action },
        ]),
        { scope, insufficient: true },
      );
    const message = `${caller.user.username} may not ${action} ${name}`;
    audit(req, caller, `registry.${action}`, name, name, "denied", message);
    throw new RegistryError("DENIED", message, { repository: name, action });
  }

  /**
   * Password check for the token endpoint. Clients ask for a token per repository and per
   * command (a `docker push` asks several times), and argon2 costs ~50 ms each: a successful
   * check is remembered for a minute, keyed by an HMAC of the credentials under a per-process
   * key, and honoured only while the user is enabled and has the same password hash.
   */
  const verified = new Map<string, { userId: string; passwordHash: string; until: number }>();
  const cacheKey = randomBytes(32);
  async function verifyPasswordCached(
    username: string,
    password: string,
    address: string | null,
  ): Promise<AuthUser> {
    const k = createHmac("sha256", cacheKey).update(`${username}\0${password}`).digest("base64");
    const hit = verified.get(k);
    const now = Date.now();
    if (hit && hit.until > now) {
      const row = access.userRow(hit.userId);
      if (
        row &&
        !row.disabled &&
        row.passwordHash === hit.passwordHash &&
        row.username === username
      )
        return { id: row.id, username: row.username, isAdmin: row.isAdmin };
    }
    if (hit) verified.delete(k);
    // Behind the sign-in rate limits, like the dashboard's sign-in (per account and address).
    const u = await services.auth.checkSignIn(username, password, address);
    if (verified.size >= 1000) verified.clear();
    verified.set(k, { userId: u.id, passwordHash: u.passwordHash, until: now + 60_000 });
    return { id: u.id, username: u.username, isAdmin: u.isAdmin };
  }

  // ---- token endpoint ----------------------------------------------------------------------

  async function token(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET");
      throw new RegistryError("UNSUPPORTED", "use GET", undefined, 405);
    }
    const service = url.searchParams.get("service");
    if (service !== null && service !== TOKEN_SERVICE)
      throw new RegistryError("DENIED", `this token service is "${TOKEN_SERVICE}"`, undefined, 400);
    let user: AuthUser | null = null;
    let node: NodeCaller | undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      const username = i < 0 ? decoded : decoded.slice(0, i);
      const password = i < 0 ? "" : decoded.slice(i + 1);
      try {
        if (isNodeUsername(username)) {
          node = verifyNodeCredential(deps.db, username, password, url.searchParams.get("account"));
        } else if (password.startsWith(API_TOKEN_PREFIX)) {
          // An API token as the password; the username is not checked (as GitHub's registry does).
          user = services.auth.userForApiToken(password);
          if (!user) throw new Error("invalid API token");
        } else {
          user = await verifyPasswordCached(username, password, req.socket.remoteAddress ?? null);
        }
      } catch (e) {
        audit(
          req,
          null,
          "registry.login",
          null,
          null,
          "denied",
          (e as Error).message,
          {},
          username.slice(0, 64),
        );
        const retryAfter = e instanceof DomainError ? e.details?.["retryAfterSeconds"] : undefined;
        if (typeof retryAfter === "number") {
          res.setHeader("retry-after", String(retryAfter));
          throw new RegistryError("TOOMANYREQUESTS", (e as Error).message);
        }
        res.setHeader("www-authenticate", `Basic realm="${realm}"`);
        if (e instanceof NodeAuthError) throw new RegistryError("UNAUTHORIZED", e.message);
        throw new RegistryError("UNAUTHORIZED", "invalid username, password or token");
      }
    } else if (req.headers.authorization) {
      throw new RegistryError("UNAUTHORIZED", "the token endpoint takes HTTP Basic credentials");
    }
    const grants: AccessEntry[] = [];
    for (const s of parseScopes(url.searchParams.getAll("scope"))) {
      if (s.type === "registry") {
        if (s.name === "catalog" && user && !node)
          grants.push({ type: "registry", name: "catalog", actions: ["*"] });
        continue;
      }
      try {
        validateName(s.name);
      } catch {
        continue;
      }
      const allowed = node ? access.teamActions(node.teamId, s.name) : access.actions(user, s.name);
      const actions = s.actions.includes("*")
        ? allowed
        : s.actions.filter((a) => (allowed as string[]).includes(a));
      if (actions.length > 0) grants.push({ type: "repository", name: s.name, actions });
    }
    const { token: t, claims } = node
      ? signer.sign(`${NODE_SUBJECT_PREFIX}${node.id}`, grants, TOKEN_TTL_SECONDS, node.teamId)
      : signer.sign(user?.id ?? "", grants);
    sendJson(res, 200, {
      token: t,
      access_token: t,
      expires_in: TOKEN_TTL_SECONDS,
      issued_at: new Date(claims.iat * 1000).toISOString(),
    });
  }

  // ---- blobs -------------------------------------------------------------------------------

  async function getBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string) {
    const blob = await storage.blob(name, digest);
    if (!blob) throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { digest });
    const headers: Record<string, string | number> = {
      "content-type": "application/octet-stream",
      "docker-content-digest": digest,
      etag: `"${digest}"`,
      "accept-ranges": "bytes",
      "cache-control": "max-age=31536000",
    };
    if (req.method === "HEAD") {
      await storage.touch(digest);
      return send(res, 200, { ...headers, "content-length": blob.size });
    }
    let start = 0;
    let end = blob.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === "" && m[2] === ""))
        throw new RegistryError("RANGE_INVALID", "unsupported Range", { range }, 416);
      if (m[1] === "") {
        start = Math.max(0, blob.size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== "") end = Math.min(end, Number(m[2]));
      }
      if (start > end || start >= blob.size) {
        res.setHeader("content-range", `bytes */${blob.size}`);
        throw new RegistryError("RANGE_INVALID", "range not satisfiable", { range }, 416);
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${blob.size}`;
    }
    res.writeHead(status, {
      "docker-distribution-api-version": "registry/2.0",
      ...headers,
      "content-length": blob.size === 0 ? 0 : end - start + 1,
    });
    if (blob.size === 0) return res.end();
    await sendFileRange(res, blob.path, start, end);
  }

  function uploadHeaders(name: string, uuid: string, offset: number) {
    return {
      location: `/v2/${name}/blobs/uploads/${uuid}`,
      range: `0-${Math.max(0, offset - 1)}`,
      "docker-upload-uuid": uuid,
    };
  }
  function blobCreated(res: ServerResponse, name: string, digest: string) {
    send(res, 201, { location: `/v2/${name}/blobs/${digest}`, "docker-content-digest": digest });
  }

  async function uploads(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    caller: Caller,
    name: string,
    uuid: string,
  ) {
    const method = req.method ?? "GET";
    if (uuid === "") {
      if (method !== "POST") throw new RegistryError("UNSUPPORTED", "use POST", undefined, 405);
      requireAction(req, caller, name, "push", "pull,push");
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      if (mount !== null) {
        const digest = parseDigest(mount);
        if (from !== null) {
          validateName(from);
          const src = granted(caller, from, "pull") ? await storage.blob(from, digest) : null;
          if (src) {
            await admit(req, caller, name, digest, src.size);
            if (await storage.mount(name, from, digest)) return blobCreated(res, name, digest);
          }
        } else if (await storage.blob(name, digest)) {
          return blobCreated(res, name, digest);
        }
        // Not mountable: fall through to a normal upload session, as the spec says.
      }
      const single = url.searchParams.get("digest");
      if (single !== null) {
        const digest = parseDigest(single);
        const up = await storage.startUpload(name);
        try {
          await storage.complete(name, up.uuid, digest, req, (size) =>
            admit(req, caller, name, digest, size),
          );
        } catch (e) {
          await storage.cancel(name, up.uuid).catch(() => undefined);
          throw e;
        }
        return blobCreated(res, name, digest);
      }
      const up = await storage.startUpload(name);
      return send(res, 202, uploadHeaders(name, up.uuid, 0));
    }
    requireAction(req, caller, name, "push", "pull,push");
    if (method === "GET") {
      const st = await storage.upload(name, uuid);
      return send(res, 204, uploadHeaders(name, uuid, st.offset));
    }
    if (method === "PATCH") {
      let range: { start: number; end: number } | undefined;
      const cr = req.headers["content-range"];
      if (cr !== undefined) {
        const m = /^(?:bytes )?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(cr.trim());
        if (!m || Number(m[2]) < Number(m[1])) {
          const st = await storage.upload(name, uuid);
          res.setHeader("range", `0-${Math.max(0, st.offset - 1)}`);
          throw new RegistryError(
            "RANGE_INVALID",
            "invalid Content-Range",
            { contentRange: cr },
            416,
          );
        }
        range = { start: Number(m[1]), end: Number(m[2]) };
      }
      try {
        const st = await storage.append(name, uuid, req, range);
        return send(res, 202, uploadHeaders(name, uuid, st.offset));
      } catch (e) {
        if (isRegistryError(e) && e.status === 416) {
          const off = (e.detail as { offset: number }).offset;
          res.setHeader("range", `0-${Math.max(0, off - 1)}`);
          res.setHeader("location", `/v2/${name}/blobs/uploads/${uuid}`);
        }
        throw e;
      }
    }
    if (method === "PUT") {
      const digest = parseDigest(url.searchParams.get("digest"));
      await storage.complete(name, uuid, digest, hasBody(req) ? req : undefined, (size) =>
        admit(req, caller, name, digest, size),
      );
      return blobCreated(res, name, digest);
    }
    if (method === "DELETE") {
      await storage.cancel(name, uuid);
      return send(res, 204, {});
    }
    throw new RegistryError("UNSUPPORTED", `${method} is not supported here`, undefined, 405);
  }

  // ---- manifests ---------------------------------------------------------------------------

  async function resolve(name: string, ref: string): Promise<string> {
    if (isDigest(ref)) return parseDigest(ref);
    const digest = await storage.resolveTag(name, validateTag(ref));
    if (!digest)
      throw new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", { tag: ref });
    return digest;
  }

  async function manifests(
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    name: string,
    ref: string,
  ) {
    const method = req.method ?? "GET";
    if (method === "GET" || method === "HEAD") {
      requireAction(req, caller, name, "pull", "pull");
      const digest = await resolve(name, ref).catch((e: unknown) => {
        if (isRegistryError(e) && e.code === "TAG_INVALID")
          throw new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", {
            reference: ref,
          });
        throw e;
      });
      const m = await storage.manifest(name, digest);
      if (!m)
        throw new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", {
          reference: ref,
        });
      const headers = {
        "content-type": m.mediaType,
        "docker-content-digest": m.digest,
        etag: `"${m.digest}"`,
      };
      if (method === "HEAD")
        return send(res, 200, { ...headers, "content-length": m.bytes.length });
      audit(req, caller, "registry.pull", name, `${name}@${digest}`, "ok", null, {
        reference: ref,
      });
      settings.pulled(name, access.teamOf(name)?.id ?? null);
      return send(res, 200, headers, m.bytes);
    }
    if (method === "PUT") {
      requireAction(req, caller, name, "push", "pull,push");
      const target = `${name}:${ref}`;
      try {
        const tag = isDigest(ref) ? null : validateTag(ref);
        const bytes = await readBounded(req, MAX_MANIFEST_BYTES);
        const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
        if (tag === null && parseDigest(ref) !== digest)
          throw new RegistryError("DIGEST_INVALID", "the manifest's digest is not the reference", {
            expected: ref,
            actual: digest,
          });
        const parsed = parseManifest(bytes, req.headers["content-type"]);
        for (const d of parsed.blobs) {
          const b = await storage.blob(name, d.digest);
          if (!b)
            throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", {
              digest: d.digest,
            });
          if (b.size !== d.size)
            throw new RegistryError(
              "MANIFEST_INVALID",
              `manifest invalid: blob ${d.digest} has ${b.size} bytes, not ${d.size}`,
            );
        }
        for (const d of parsed.manifests)
          if (!(await storage.hasManifest(name, d.digest)))
            throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest unknown to registry", {
              digest: d.digest,
            });
        const team = access.teamOf(name);
        if (team && !(await storage.hasManifest(name, digest)))
          await checkQuota(settings, storage, team, digest, bytes.length);
        const descriptor: Descriptor = {
          mediaType: parsed.mediaType,
          digest,
          size: bytes.length,
          ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}),
          ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
        };
        await storage.putManifest(
          name,
          { digest, mediaType: parsed.mediaType, bytes },
          tag,
          parsed.subject ? { subject: parsed.subject.digest, descriptor } : undefined,
        );
        await recordSize(name, true);
        audit(
          req,
          caller,
          "registry.push",
          name,
          `${name}${tag ? `:${tag}` : ""}@${digest}`,
          "ok",
          null,
          {
            reference: ref,
            mediaType: parsed.mediaType,
            size: bytes.length,
          },
        );
        return send(res, 201, {
          location: `/v2/${name}/manifests/${digest}`,
          "docker-content-digest": digest,
          ...(parsed.subject ? { "oci-subject": parsed.subject.digest } : {}),
        });
      } catch (e) {
        audit(req, caller, "registry.push", name, target, "error", (e as Error).message, {
          reference: ref,
        });
        throw e;
      }
    }
    if (method === "DELETE") {
      requireAction(req, caller, name, "delete", "delete");
      const ok = isDigest(ref)
        ? await storage.deleteManifest(name, parseDigest(ref))
        : await storage.deleteTag(name, validateTag(ref));
      if (!ok)
        throw new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", {
          reference: ref,
        });
      audit(
        req,
        caller,
        "registry.delete",
        name,
        `${name}${isDigest(ref) ? "@" : ":"}${ref}`,
        "ok",
        null,
      );
      await recordSize(name, false);
      return send(res, 202, {});
    }
    throw new RegistryError("UNSUPPORTED", `${method} is not supported here`, undefined, 405);
  }

  // ---- dispatch ----------------------------------------------------------------------------

  async function route(req: IncomingMessage, res: ServerResponse, path: string, url: URL) {
    if (path === REGISTRY_TOKEN_PATH) return token(req, res, url);
    const caller = authenticate(req);
    const method = req.method ?? "GET";
    if (path === "/v2" || path === "/v2/") {
      if (!caller.user && caller.grants !== "role" && req.headers.authorization === undefined)
        throw new RegistryError("UNAUTHORIZED", "authentication required");
      return sendJson(res, 200, {});
    }
    if (path === "/v2/_catalog") {
      if (method !== "GET") throw new RegistryError("UNSUPPORTED", "use GET", undefined, 405);
      if (!caller.user)
        throw Object.assign(new RegistryError("UNAUTHORIZED", "authentication required"), {
          scope: "registry:catalog:*",
        });
      const user = caller.user;
      const all = (await storage.repositories()).filter((r) =>
        access.actions(user, r).includes("pull"),
      );
      const { items, link } = paginate(all, url, "/v2/_catalog");
      return sendJson(res, 200, { repositories: items }, link ? { link } : {});
    }
    for (const r of ROUTES) {
      const m = r.re.exec(path);
      if (!m) continue;
      const name = validateName(m[1]!);
      const arg = m[2] ?? "";
      switch (r.kind) {
        case "tags": {
          if (method !== "GET") throw new RegistryError("UNSUPPORTED", "use GET", undefined, 405);
          requireAction(req, caller, name, "pull", "pull");
          const tags = await storage.tags(name);
          if (tags === null)
            throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", {
              name,
            });
          const { items, link } = paginate(tags, url, `/v2/${name}/tags/list`);
          return sendJson(res, 200, { name, tags: items }, link ? { link } : {});
        }
        case "manifest":
          return manifests(req, res, caller, name, arg);
        case "uploads":
          return uploads(req, res, url, caller, name, arg);
        case "blob": {
          const digest = parseDigest(arg);
          if (method === "GET" || method === "HEAD") {
            requireAction(req, caller, name, "pull", "pull");
            return getBlob(req, res, name, digest);
          }
          if (method === "DELETE") {
            requireAction(req, caller, name, "delete", "delete");
            if (!(await storage.deleteBlob(name, digest)))
              throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { digest });
            audit(req, caller, "registry.delete", name, `${name}@${digest}`, "ok", null, {
              blob: true,
            });
            return send(res, 202, {});
          }
          throw new RegistryError("UNSUPPORTED", `${method} is not supported here`, undefined, 405);
        }
        case "referrers": {
          if (method !== "GET") throw new RegistryError("UNSUPPORTED", "use GET", undefined, 405);
          requireAction(req, caller, name, "pull", "pull");
          const subject = parseDigest(arg);
          let list = await storage.referrers(name, subject);
          const artifactType = url.searchParams.get("artifactType");
          const headers: Record<string, string> = { "content-type": OCI_INDEX };
          if (artifactType !== null) {
            list = list.filter((d) => d.artifactType === artifactType);
            headers["oci-filters-applied"] = "artifactType";
          }
          return send(
            res,
            200,
            headers,
            JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: list }),
          );
        }
      }
    }
    throw new RegistryError("NAME_UNKNOWN", "no such registry endpoint", { path }, 404);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://berth.invalid");
    try {
      await route(req, res, path, url);
    } catch (e) {
      let err: RegistryError;
      if (isRegistryError(e)) err = e;
      else {
        deps.onError?.(`registry ${req.method} ${path}: ${(e as Error).stack ?? String(e)}`);
        err = new RegistryError("UNSUPPORTED", "internal error", undefined, 500);
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err.status === 401 && !res.hasHeader("www-authenticate")) {
        const extra = e as { scope?: string; insufficient?: boolean };
        const detail = Array.isArray(err.detail)
          ? (err.detail[0] as { Name: string } | undefined)
          : undefined;
        const scope = extra.scope ?? (detail ? `repository:${detail.Name}:pull` : null);
        res.setHeader(
          "www-authenticate",
          challenge(scope, extra.insufficient ? "insufficient_scope" : undefined),
        );
      }
      send(res, err.status, { "content-type": "application/json" }, errorBody(err));
    }
  }

  return { handle, storage };
}
