/**
 * Identifiers. Container ids are 64 lowercase hex characters like Docker's (the first 12 are
 * the short form); every other entity gets a 26-character lowercase base32 id.
 * Uses Web Crypto, available in Node 20 and browsers alike.
 */
import { z } from "zod";

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

const B32 = "abcdefghijklmnopqrstuvwxyz234567";

export function newId(): string {
  const bytes = randomBytes(26);
  let out = "";
  for (let i = 0; i < 26; i++) out += B32[bytes[i]! % 32];
  return out;
}

export function newContainerId(): string {
  return Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** A random secret, base64url, for tokens and credentials. */
export function newSecret(bytes = 32): string {
  const b = randomBytes(bytes);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export const IdSchema = z.string().regex(/^[a-z2-7]{26}$/, "malformed id");
export const ContainerIdSchema = z.string().regex(/^[0-9a-f]{64}$/, "malformed container id");
