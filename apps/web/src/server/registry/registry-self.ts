/**
 * berth-server's own registry hosts: references naming one of them are pulled by agents with
 * their node credential on behalf of the team (`{onBehalfOfTeam}`), never with a stored team
 * password. The hosts are the public URL's `host:port` (as references spell it: no port for
 * the scheme's default) and, when that host is loopback, every loopback spelling of its port.
 */
import { normalizeRegistryHost } from "@berth/core";

const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];

export function selfRegistryHosts(publicUrl: string): string[] {
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    return [];
  }
  const host = u.hostname.toLowerCase();
  const defaultPort = u.protocol === "https:" ? "443" : "80";
  const port = u.port || defaultPort;
  const spell = (h: string) => (port === defaultPort ? [h, `${h}:${port}`] : [`${h}:${port}`]);
  const out = new Set(spell(host));
  if (LOOPBACK.includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host))
    for (const h of LOOPBACK) for (const s of spell(h)) out.add(s);
  return [...out].map(normalizeRegistryHost);
}

/** Whether `registry` (a reference's host) is berth-server itself. */
export function isSelfRegistry(selfHosts: readonly string[], registry: string): boolean {
  return selfHosts.includes(normalizeRegistryHost(registry));
}
