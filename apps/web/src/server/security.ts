/** Hashing and comparison of secrets (tokens, credentials, session cookies). */
import { createHash, timingSafeEqual } from "node:crypto";

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/** Compares two hex digests in constant time. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The CSRF token of a session: derived from its secret, so it rotates with the session. */
export function csrfTokenFor(sessionSecret: string): string {
  return sha256Hex(`berth-csrf:${sessionSecret}`);
}

export interface CsrfRequest {
  method: string;
  /** The `x-berth-csrf` header. */
  token: string | undefined;
  origin: string | undefined;
  host: string | undefined;
  /** `x-forwarded-host`, set by a reverse proxy that rewrites Host (a page cannot set it). */
  forwardedHost?: string | undefined;
  /** The `sec-fetch-site` header. */
  fetchSite: string | undefined;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Why a cookie-authenticated request must be refused as a possible cross-site request forgery,
 * or null. Unsafe methods need the session's CSRF token in the header (a page of another site
 * can neither read the cookie nor set the header without a CORS preflight, which berth-server
 * never grants); a cross-site Origin or `Sec-Fetch-Site: cross-site` is refused outright.
 */
export function csrfProblem(req: CsrfRequest, sessionSecret: string): string | null {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return null;
  if (req.fetchSite === "cross-site") return "cross-site request refused";
  if (req.origin && req.host) {
    let originHost: string | null = null;
    try {
      originHost = new URL(req.origin).host;
    } catch {
      originHost = null;
    }
    const hosts = [req.host, ...(req.forwardedHost ?? "").split(",").map((h) => h.trim())];
    if (originHost === null || !hosts.includes(originHost))
      return `request from another origin (${req.origin}) refused`;
  }
  const expected = csrfTokenFor(sessionSecret);
  if (!req.token || !/^[0-9a-f]{64}$/.test(req.token) || !sameDigest(req.token, expected))
    return "missing or wrong CSRF token (x-berth-csrf): reload the page";
  return null;
}
