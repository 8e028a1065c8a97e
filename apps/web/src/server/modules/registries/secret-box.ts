/**
 * Encryption at rest of registry secrets: AES-256-GCM under a 32-byte server key kept in the data
 * dir (`registry-secret.key`, mode 0600, created at first use), never in the database. Each
 * sealed value has its own random 96-bit IV and is bound (GCM additional data) to the row it
 * belongs to (team + registry), so a secret copied into another team's row does not open.
 *
 * Sealed form: `v1.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DomainError } from "@berth/core";

export const REGISTRY_KEY_FILE = "registry-secret.key";
const KEY_BYTES = 32;
const IV_BYTES = 12;

/** Reads the server's registry key from `dataDir`, creating it (0600, atomically) if absent. */
export function loadOrCreateRegistryKey(dataDir: string): Buffer {
  const file = join(dataDir, REGISTRY_KEY_FILE);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${randomBytes(KEY_BYTES).toString("base64")}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new Error(`${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
  const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  if (key.length !== KEY_BYTES)
    throw new Error(`${file} is corrupt: expected ${KEY_BYTES} base64-encoded bytes`);
  return key;
}

export class SecretBox {
  private key: Buffer | undefined;

  /** `key` is a provider so the key file is created only when a secret is first sealed or opened. */
  constructor(private readonly keyProvider: () => Buffer) {}

  private getKey(): Buffer {
    this.key ??= this.keyProvider();
    if (this.key.length !== KEY_BYTES) throw new Error("the registry key must be 32 bytes");
    return this.key;
  }

  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv("aes-256-gcm", this.getKey(), iv);
    c.setAAD(Buffer.from(boundTo, "utf8"));
    const ct = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
    const tag = c.getAuthTag();
    return ["v1", iv, tag, ct]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
  }

  /** The plaintext; DomainError `internal` when it was sealed under another key or for another row. */
  open(sealed: string, boundTo: string): string {
    const parts = sealed.split(".");
    if (parts.length !== 4 || parts[0] !== "v1")
      throw new DomainError("internal", "a stored registry secret has an unknown format");
    const [iv, tag, ct] = parts.slice(1).map((p) => Buffer.from(p, "base64url")) as [
      Buffer,
      Buffer,
      Buffer,
    ];
    try {
      const d = createDecipheriv("aes-256-gcm", this.getKey(), iv);
      d.setAAD(Buffer.from(boundTo, "utf8"));
      d.setAuthTag(tag);
      return Buffer.concat([d.update(ct), d.final()]).toString("utf8");
    } catch {
      throw new DomainError(
        "internal",
        "a stored registry secret cannot be decrypted (was the server's registry-secret.key replaced?): log in to the registry again",
      );
    }
  }
}
