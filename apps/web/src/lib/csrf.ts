"use client";
/**
 * The CSRF header for cookie-authenticated mutations: berth-server sets the `berth_csrf` cookie
 * with the session, and refuses unsafe requests whose `x-berth-csrf` header does not match it.
 */
import { CSRF_COOKIE, CSRF_HEADER } from "@berth/core";

export function csrfToken(): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === CSRF_COOKIE) return v.join("=") || null;
  }
  return null;
}

/** Headers to spread into a fetch() of berth-server's own API. */
export function csrfHeaders(): Record<string, string> {
  const token = csrfToken();
  return token ? { [CSRF_HEADER]: token } : {};
}
