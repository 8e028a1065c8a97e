/**
 * Which addresses an owner-supplied webhook may reach (SSRF guard), and the one function that
 * POSTs to it.
 *
 * The server resolves the webhook's host itself, refuses the target if ANY of its addresses is
 * in a refused range, and then connects to the address it checked (a fixed `lookup`), so a
 * second DNS answer cannot swap in another address between check and connect. Redirects are
 * never followed, the whole call has a deadline, and at most a few KiB of the answer are read.
 *
 * Always refused: unspecified (0.0.0.0/8, ::), link-local (169.254/16 — cloud metadata —,
 * fe80::/10), multicast, broadcast and reserved/documentation ranges. Refused unless the
 * server allows private targets (`BERTH_WEBHOOK_ALLOW_PRIVATE=1`): loopback and private ranges
 * (10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15, 192.0.0/24, fc00::/7, fec0::/10).
 * IPv6 forms that embed an IPv4 address (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::/96, 2002::/16)
 * are judged by that IPv4 address.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { DomainError } from "@berth/core";

export type AddressClass =
  "public" | "private" | "loopback" | "unspecified" | "link-local" | "multicast" | "reserved";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all of its addresses (dns.lookup by default, i.e. what connect would use). */
export type WebhookResolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: WebhookResolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

export interface WebhookPolicy {
  /** Loopback and private ranges are allowed (the server setting BERTH_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  resolver?: WebhookResolver;
}

const V4_RANGES: [string, number, AddressClass][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"], // includes 255.255.255.255
  ["192.0.2.0", 24, "reserved"],
  ["198.51.100.0", 24, "reserved"],
  ["203.0.113.0", 24, "reserved"],
  ["10.0.0.0", 8, "private"],
  ["172.16.0.0", 12, "private"],
  ["192.168.0.0", 16, "private"],
  ["100.64.0.0", 10, "private"],
  ["198.18.0.0", 15, "private"],
  ["192.0.0.0", 24, "private"],
];

function v4ToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function classifyV4Int(n: number): AddressClass {
  for (const [base, bits, cls] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((n & mask) >>> 0 === (v4ToInt(base) & mask) >>> 0) return cls;
  }
  return "public";
}

/** The 16 bytes of an IPv6 address (zone id ignored); null when it is not one. */
export function parseV6(ip: string): number[] | null {
  let text = ip.replace(/%.*$/, "");
  if (isIP(text) !== 6) return null;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToInt(v4[1]!);
    text = `${text.slice(0, -v4[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const hex = (s: string) => (s === "" ? [] : s.split(":").map((x) => parseInt(x, 16)));
  const parts = text.split("::");
  const groups =
    parts.length === 1
      ? hex(parts[0]!)
      : (() => {
          const left = hex(parts[0]!);
          const right = hex(parts[1]!);
          return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
        })();
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
}

function classifyV6(b: number[]): AddressClass {
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4At = (i: number) =>
    ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
  if (zero(0, 16)) return "unspecified";
  if (zero(0, 15) && b[15] === 1) return "loopback";
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
  if (zero(0, 10) && ((b[10] === 0xff && b[11] === 0xff) || (b[10] === 0 && b[11] === 0)))
    return classifyV4Int(v4At(12));
  // 64:ff9b::/96 (NAT64)
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12))
    return classifyV4Int(v4At(12));
  // 2002::/16 (6to4)
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4Int(v4At(2));
  if (b[0] === 0xff) return "multicast";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return "link-local";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return "private"; // site-local (deprecated)
  if ((b[0]! & 0xfe) === 0xfc) return "private"; // unique local
  if (b[0] === 0x01 && zero(1, 8)) return "reserved"; // 100::/64 discard
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return "reserved"; // docs
  return "public";
}

/** The class of an IP address (v4 or v6 text); "reserved" for text that is not an address. */
export function classifyAddress(ip: string): AddressClass {
  if (isIP(ip) === 4) return classifyV4Int(v4ToInt(ip));
  const b = parseV6(ip);
  return b ? classifyV6(b) : "reserved";
}

/** Why an address may not be a webhook target under the policy; null when it may. */
export function refusalOf(ip: string, allowPrivate: boolean): string | null {
  const cls = classifyAddress(ip);
  if (cls === "public") return null;
  if ((cls === "private" || cls === "loopback") && allowPrivate) return null;
  const hint =
    cls === "private" || cls === "loopback"
      ? " (an administrator may allow private targets with BERTH_WEBHOOK_ALLOW_PRIVATE=1)"
      : "";
  return `${ip} is a ${cls} address, which webhooks may not reach${hint}`;
}

/** The URL, parsed, if it is http(s) without credentials; throws invalid_input otherwise. */
function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError("invalid_input", `the webhook ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new DomainError("invalid_input", "the webhook must be an http:// or https:// URL");
  if (url.username || url.password)
    throw new DomainError("invalid_input", "the webhook URL may not carry a user or password");
  return url;
}

/**
 * Resolves the URL's host and checks every address; returns the URL and the address to connect
 * to. Throws `invalid_input` naming the refused address, or when the host does not resolve.
 */
export async function checkWebhookTarget(
  raw: string,
  policy: WebhookPolicy,
): Promise<{ url: URL; target: ResolvedAddress }> {
  const url = parseWebhookUrl(raw);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: ResolvedAddress[];
  const literal = isIP(host);
  if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await (policy.resolver ?? systemResolver)(host);
    } catch (e) {
      throw new DomainError(
        "invalid_input",
        `the webhook host ${host} does not resolve (${(e as Error).message})`,
      );
    }
    if (addresses.length === 0)
      throw new DomainError("invalid_input", `the webhook host ${host} has no address`);
  }
  for (const a of addresses) {
    const why = refusalOf(a.address, policy.allowPrivate);
    if (why) throw new DomainError("invalid_input", `webhook ${host}: ${why}`);
  }
  return { url, target: addresses[0]! };
}

export interface PostOptions {
  timeoutMs?: number;
  /** At most this many bytes of the answer are read (the rest is dropped). */
  maxResponseBytes?: number;
}

/**
 * POSTs a JSON body to a webhook after checking its target; returns "ok" or "error: …" (stored
 * on the notification). 3xx answers are errors: redirects are not followed.
 */
export async function postWebhook(
  raw: string,
  body: unknown,
  policy: WebhookPolicy,
  opts: PostOptions = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxResponseBytes ?? 4096;
  // The deadline covers the name's resolution too (a resolver that never answers).
  const deadline = Date.now() + timeoutMs;
  let checked: { url: URL; target: ResolvedAddress };
  let dnsTimer: NodeJS.Timeout | undefined;
  try {
    checked = await Promise.race([
      checkWebhookTarget(raw, policy),
      new Promise<never>((_, reject) => {
        dnsTimer = setTimeout(
          () => reject(new Error(`no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (e) {
    const message = (e as Error).message;
    return (
      message.startsWith("no answer within") ? `error: ${message}` : `error: refused: ${message}`
    ).slice(0, 500);
  } finally {
    clearTimeout(dnsTimer);
  }
  const { url, target } = checked;
  // Connect to the checked address only: the socket never asks DNS again.
  const pinned: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) cb(null, [target]);
    else cb(null, target.address, target.family);
  };
  const payload = Buffer.from(JSON.stringify(body));
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<string>((resolve) => {
    let settled = false;
    const done = (result: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result.slice(0, 500));
    };
    const req = request(
      url,
      {
        method: "POST",
        lookup: pinned,
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": String(payload.length),
          "user-agent": "berth-server",
        },
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on("data", (c: Buffer) => {
          read += c.length;
          if (read >= maxBytes) res.destroy();
        });
        res.on("error", () => undefined);
        const finish = () => {
          if (status >= 200 && status < 300) done("ok");
          else if (status >= 300 && status < 400)
            done(`error: HTTP ${status} (redirects are not followed)`);
          else done(`error: HTTP ${status}`);
          req.destroy();
        };
        res.on("end", finish);
        res.on("close", finish);
      },
    );
    const timer = setTimeout(
      () => {
        done(`error: no answer within ${timeoutMs} ms`);
        req.destroy();
      },
      Math.max(0, deadline - Date.now()),
    );
    req.on("error", (e) => done(`error: ${e.message}`));
    req.end(payload);
  });
}
