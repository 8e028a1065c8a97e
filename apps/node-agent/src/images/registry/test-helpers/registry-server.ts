/**
 * Test helpers: a real CNCF distribution registry (Debian's `docker-registry`, 2.8) on
 * 127.0.0.1 with a random free port and a private storage dir, optionally with htpasswd Basic
 * auth or token (Bearer) auth backed by a small token server on loopback that signs RS256 JWTs
 * with a throwaway key and self-signed certificate (the registry trusts it via rootcertbundle).
 * Processes are stopped by their pid; directories are removed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's packages (apt, `scripts/setup.sh --test`): the peers the tests pin, not whatever is on PATH. */
export const REGISTRY_BIN = "/usr/bin/docker-registry";
export const SKOPEO_BIN = "/usr/bin/skopeo";

export function which(bin: string): string | undefined {
  const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", bin], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TokenServer {
  url: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Requests seen: the Basic user (if any) and the scopes asked for. */
  requests: { user: string | undefined; scopes: string[] }[];
  close(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

/**
 * A token server for distribution's `token` auth: grants what is asked (pull/push) to
 * `user`/`password` (or anyone when no user is set), refuses wrong passwords with 401.
 */
export async function startTokenServer(
  dir: string,
  opts: { user?: string; password?: string; expiresIn?: number } = {},
): Promise<TokenServer> {
  const keyPath = join(dir, "token.key");
  const certPath = join(dir, "token.crt");
  const r = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=berth-test-token",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const key = readFileSync(keyPath, "utf8");
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  const service = "berth-test-registry";
  const issuer = "berth-test-issuer";
  const requests: TokenServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const scopes = url.searchParams.getAll("scope");
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
      if (opts.user !== undefined && (u !== opts.user || p.join(":") !== opts.password)) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ details: "wrong username or password" }));
        return;
      }
      user = u;
    } else if (opts.user !== undefined && scopes.length > 0) {
      // Anonymous callers get a token without access (as Docker Hub does for private repos).
      scopes.length = 0;
    }
    requests.push({ user, scopes: url.searchParams.getAll("scope") });
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(":");
      const actions = rest.pop() ?? "";
      return { type, name: rest.join(":"), actions: actions.split(",") };
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const header = { typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] };
    const claims = {
      iss: issuer,
      sub: user ?? "",
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString("hex"),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign("RSA-SHA256").update(signingInput).sign(key);
    const token = `${signingInput}.${b64url(sig)}`;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  dir: string;
  storageDir: string;
  pid: number;
  token: TokenServer | undefined;
  /** Path of a blob's data file in the registry's storage (to tamper with it). */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  basic?: { user: string; password: string };
  token?: { user?: string; password?: string; expiresIn?: number };
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "berth-registry-"));
  const storageDir = join(dir, "storage");
  const port = await freePort();
  let auth = "";
  let token: TokenServer | undefined;
  if (opts.basic) {
    const h = spawnSync("htpasswd", ["-Bbn", opts.basic.user, opts.basic.password], {
      encoding: "utf8",
    });
    if (h.status !== 0) throw new Error(`htpasswd failed: ${h.stderr}`);
    writeFileSync(join(dir, "htpasswd"), h.stdout);
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (opts.token) {
    token = await startTokenServer(dir, opts.token);
    auth = `auth:\n  token:\n    realm: ${token.url}\n    service: ${token.service}\n    issuer: ${token.issuer}\n    rootcertbundle: ${token.certPath}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
  redirect:
    disable: true
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString("hex")}
${auth}`;
  writeFileSync(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn(REGISTRY_BIN, ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${REGISTRY_BIN}`);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, "SIGTERM");
      const t = setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 3000);
      await exited;
      clearTimeout(t);
    }
    await token?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited at start: ${stderr}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on 127.0.0.1:${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    storageDir,
    pid,
    token,
    blobDataPath: (digest: string) => {
      const hex = digest.slice("sha256:".length);
      return join(storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    },
    stop,
  };
}

/** Runs skopeo (argv, no shell); throws with its stderr on failure. */
export function skopeo(args: string[]): string {
  const r = spawnSync(SKOPEO_BIN, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0)
    throw new Error(`skopeo ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}
