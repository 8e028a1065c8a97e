/**
 * Pulling from berth-server's own registry with the node credential. The server sends
 * `{onBehalfOfTeam}` (no secret) instead of a team's stored password for its own registry; the
 * agent then asks the token endpoint with HTTP Basic `node/<nodeId>` : `<nodeId>.<secret>` and
 * `account=<teamId>`, and gets a pull-only token for that team's repositories.
 *
 * The node secret only ever goes where the agent already sends it: the host:port of its own
 * server URL (loopback spellings of one port count as one host). A reference naming any other
 * registry, or a token realm elsewhere, is refused before anything is sent.
 */
import { DomainError } from "@berth/core";
import type { RegistryCredential } from "./auth";

/** Who this agent is to its server (the stored join result). */
export interface NodeIdentity {
  serverUrl: string;
  nodeId: string;
  /** `<nodeId>.<secret>` */
  credential: string;
}

/** The Basic username that marks a node credential (usernames cannot contain `/`). */
export const NODE_USERNAME_PREFIX = "node/";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function splitHostPort(hostPort: string): { host: string; port: string } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort.toLowerCase());
  return { host: m?.[1] ?? hostPort.toLowerCase(), port: m?.[2] ?? "" };
}

/** `host[:port]` of an http(s) URL, with the scheme's default port spelled out. */
export function hostPortOfUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname.toLowerCase()}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}

/**
 * Whether two `host[:port]` spellings name the same server: equal, or both loopback on the same
 * port. A registry host without a port is compared with port 443 (references' HTTPS default)
 * unless it is loopback, where plain HTTP (80) is what the client uses.
 */
export function sameServerHost(a: string, b: string): boolean {
  const x = splitHostPort(a);
  const y = splitHostPort(b);
  const port = (p: { host: string; port: string }) =>
    p.port || (LOOPBACK.has(p.host) || p.host.startsWith("127.") ? "80" : "443");
  if (port(x) !== port(y)) return false;
  if (x.host === y.host) return true;
  const loop = (h: string) => LOOPBACK.has(h) || /^127\.\d+\.\d+\.\d+$/.test(h);
  return loop(x.host) && loop(y.host);
}

/**
 * The registry client credential for a pull on behalf of `teamId` from `registry`, which must be
 * this agent's own server; a DomainError otherwise (nothing is sent).
 */
export function nodeRegistryCredential(
  registry: string,
  teamId: string,
  identity: NodeIdentity | undefined,
): RegistryCredential {
  if (!identity)
    throw new DomainError(
      "unauthenticated",
      `${registry}: this node has no credential yet (it has not joined), so it cannot pull from berth-server's registry`,
    );
  const server = hostPortOfUrl(identity.serverUrl);
  if (!sameServerHost(registry, server))
    throw new DomainError(
      "forbidden",
      `${registry}: the server asked for a pull with this node's credential, but this node reaches berth-server at ${server}: the node credential is only sent there`,
    );
  return {
    username: `${NODE_USERNAME_PREFIX}${identity.nodeId}`,
    password: identity.credential,
    account: teamId,
    tokenHost: server,
  };
}
