/**
 * Joining: the agent trades a one-time join token for a node credential once, then keeps
 * `{serverUrl, nodeId, nodeName, credential, serverId}` in <stateDir>/credential.json (0600).
 * The serverId learnt at join time is pinned: the WebSocket client refuses any other server.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ErrorBodySchema, JoinRequestSchema, JoinResponseSchema } from "@berth/core";
import { writeFileAtomicSync } from "./atomic-file";
import { Backoff, sleep } from "./backoff";
import type { Logger } from "./logger";

export const StoredCredentialSchema = z.object({
  serverUrl: z.string().url(),
  nodeId: z.string().min(1),
  nodeName: z.string().min(1),
  credential: z.string().min(1),
  serverId: z.string().min(1),
});
export type StoredCredential = z.infer<typeof StoredCredentialSchema>;

export const CREDENTIAL_FILE = "credential.json";

/** A startup failure main reports on one line and exits with `exitCode`. */
export class AgentStartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AgentStartupError";
  }
}

export interface EnsureCredentialOptions {
  stateDir: string;
  serverUrl: string;
  joinToken: string | undefined;
  hostname: string;
  log: Logger;
  /** Stops retrying (e.g. on SIGTERM): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  backoff?: { initialMs: number; maxMs: number };
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

export function credentialPath(stateDir: string): string {
  return join(stateDir, CREDENTIAL_FILE);
}

/** Reads the stored credential; undefined when there is none, AgentStartupError when it is corrupt. */
export function readCredential(stateDir: string): StoredCredential | undefined {
  const path = credentialPath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AgentStartupError(`cannot read ${path}: ${(e as Error).message}`, 1);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AgentStartupError(
      `${path} is not valid JSON: remove it and join again with a new token`,
      1,
    );
  }
  const r = StoredCredentialSchema.safeParse(json);
  if (!r.success) {
    throw new AgentStartupError(
      `${path} is malformed (${r.error.issues[0]?.message}): remove it and join again with a new token`,
      1,
    );
  }
  return r.data;
}

export function writeCredential(stateDir: string, cred: StoredCredential): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(credentialPath(stateDir), JSON.stringify(cred, null, 2) + "\n", 0o600);
}

/** Returns the stored credential, or joins with the token (retrying network failures) and stores one. */
export async function ensureCredential(o: EnsureCredentialOptions): Promise<StoredCredential> {
  const existing = readCredential(o.stateDir);
  if (existing) {
    if (o.joinToken !== undefined) {
      o.log.info("a credential is already stored: ignoring the join token", {
        nodeId: existing.nodeId,
        path: credentialPath(o.stateDir),
      });
    }
    if (existing.serverUrl !== o.serverUrl) {
      o.log.warn(
        "server URL differs from the one joined; connecting to the configured URL, the server identity stays pinned",
        {
          joined: existing.serverUrl,
          configured: o.serverUrl,
          serverId: existing.serverId,
        },
      );
    }
    return existing;
  }
  if (o.joinToken === undefined) {
    throw new AgentStartupError(
      `this agent has not joined yet (no ${credentialPath(o.stateDir)}): pass --join-token TOKEN (from \`berth join-token create\`)`,
      2,
    );
  }
  const body = JoinRequestSchema.safeParse({ token: o.joinToken, hostname: o.hostname });
  if (!body.success)
    throw new AgentStartupError(`invalid join request: ${body.error.issues[0]?.message}`, 2);

  const url = `${o.serverUrl}/api/agent/join`;
  const doFetch = o.fetch ?? fetch;
  const backoff = new Backoff(o.backoff ?? { initialMs: 500, maxMs: 30_000 });
  for (;;) {
    o.signal?.throwIfAborted();
    let res: Response;
    let text: string;
    try {
      const timeout = AbortSignal.timeout(o.requestTimeoutMs ?? 15_000);
      res = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body.data),
        signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
      });
      text = await res.text();
    } catch (e) {
      o.signal?.throwIfAborted();
      const delay = backoff.next();
      o.log.warn("join: server unreachable, retrying", {
        url,
        error: causeMessage(e),
        retryInMs: delay,
      });
      await sleep(delay, o.signal);
      continue;
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      const delay = backoff.next();
      o.log.warn("join: server unavailable, retrying", {
        url,
        status: res.status,
        retryInMs: delay,
      });
      await sleep(delay, o.signal);
      continue;
    }
    if (!res.ok) {
      const reason = serverErrorMessage(text) ?? (text.slice(0, 200) || res.statusText);
      throw new AgentStartupError(
        `join refused by ${o.serverUrl} (HTTP ${res.status}): ${reason}`,
        1,
        { status: res.status },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AgentStartupError(
        `join: ${url} answered ${res.status} with a body that is not JSON`,
        1,
      );
    }
    const parsed = JoinResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new AgentStartupError(
        `join: ${url} answered with an unexpected body: ${parsed.error.issues[0]?.message}`,
        1,
      );
    }
    const cred: StoredCredential = { serverUrl: o.serverUrl, ...parsed.data };
    writeCredential(o.stateDir, cred);
    o.log.info("joined", { nodeId: cred.nodeId, nodeName: cred.nodeName, serverId: cred.serverId });
    return cred;
  }
}

function serverErrorMessage(text: string): string | undefined {
  try {
    const r = z.object({ error: ErrorBodySchema }).safeParse(JSON.parse(text));
    return r.success ? `${r.data.error.kind}: ${r.data.error.message}` : undefined;
  } catch {
    return undefined;
  }
}

function causeMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
}
