/**
 * Registry credentials kept by the agent, per registry host: `<stateDir>/registry-auth.json`
 * (mode 0600, written atomically). This is the API the `login`/`logout` verbs use; the pull and
 * push code asks it for the credential of the registry it talks to.
 */
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { DomainError, invalidInput, RegistryHostSchema } from "@berth/core";
import { isErrno, writeFileAtomic } from "../../sys/fs";
import type { RegistryCredential } from "./auth";

export const REGISTRY_AUTH_FILE = "registry-auth.json";

export const StoredCredentialSchema = z.union([
  z.object({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(4096),
  }),
  z.object({ identityToken: z.string().min(1).max(65_536) }),
]);
export type StoredCredential = z.infer<typeof StoredCredentialSchema>;

const FileSchema = z.object({
  version: z.literal(1),
  registries: z.record(
    z.string(),
    z.object({ credential: StoredCredentialSchema, updatedAt: z.string() }),
  ),
});
type CredentialFile = z.infer<typeof FileSchema>;

/** Docker Hub answers under several names; one key for all of them. */
export function registryKey(host: string): string {
  const h = RegistryHostSchema.parse(host).toLowerCase();
  return h === "index.docker.io" || h === "registry-1.docker.io" ? "docker.io" : h;
}

export class RegistryCredentials {
  private write: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  static forStateDir(stateDir: string): RegistryCredentials {
    return new RegistryCredentials(join(stateDir, REGISTRY_AUTH_FILE));
  }

  private async read(): Promise<CredentialFile> {
    let raw: string;
    try {
      raw = await readFile(this.path, "utf8");
    } catch (e) {
      if (isErrno(e, "ENOENT")) return { version: 1, registries: {} };
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new DomainError("internal", `${this.path} is not valid JSON`);
    }
    const parsed = FileSchema.safeParse(json);
    if (!parsed.success)
      throw new DomainError("internal", `${this.path} is malformed: ${parsed.error.message}`);
    return parsed.data;
  }

  private update(fn: (f: CredentialFile) => void): Promise<void> {
    const next = this.write.then(async () => {
      const f = await this.read();
      fn(f);
      await writeFileAtomic(this.path, JSON.stringify(f, null, 2), 0o600);
      await chmod(this.path, 0o600);
    });
    this.write = next.catch(() => undefined);
    return next;
  }

  /** Saves (replaces) the credential for `registry`. */
  async set(registry: string, credential: StoredCredential): Promise<void> {
    const key = registryKey(registry);
    const parsed = StoredCredentialSchema.safeParse(credential);
    if (!parsed.success)
      throw invalidInput(`invalid credential for ${key}: ${parsed.error.issues[0]?.message}`);
    await this.update((f) => {
      f.registries[key] = { credential: parsed.data, updatedAt: new Date().toISOString() };
    });
  }

  /** Removes the credential; false when there was none. */
  async remove(registry: string): Promise<boolean> {
    const key = registryKey(registry);
    let had = false;
    await this.update((f) => {
      had = key in f.registries;
      delete f.registries[key];
    });
    return had;
  }

  async get(registry: string): Promise<RegistryCredential | undefined> {
    await this.write;
    return (await this.read()).registries[registryKey(registry)]?.credential;
  }

  /** Registries with a credential and who is logged in (never the secret). */
  async list(): Promise<{ registry: string; username: string | undefined; updatedAt: string }[]> {
    await this.write;
    const f = await this.read();
    return Object.entries(f.registries)
      .map(([registry, e]) => ({
        registry,
        username: "username" in e.credential ? e.credential.username : undefined,
        updatedAt: e.updatedAt,
      }))
      .sort((a, b) => a.registry.localeCompare(b.registry));
  }
}
