/** The audit chain's HMAC key: 32 random bytes in `<data>/audit-chain.key` (mode 0600). */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const AUDIT_KEY_FILE = "audit-chain.key";
export const AUDIT_ARCHIVE_DIR = "audit-archive";

export function loadOrCreateAuditKey(dataDir: string): Buffer {
  const file = join(dataDir, AUDIT_KEY_FILE);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new Error(`${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
  const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  if (key.length !== 32) throw new Error(`${file} is corrupt: expected 32 base64-encoded bytes`);
  return key;
}
