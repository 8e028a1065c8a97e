/**
 * What the registry keeps in the database (the blobs and manifests stay on disk): per
 * repository the public flag and last push/pull times (`registry_repositories`), per team the
 * storage quota (`teams.registry_quota_bytes`, null = none); and a team's usage, measured on
 * disk.
 */
import { eq, inArray, registryRepositories, teams, type Db } from "@berth/db";
import type { RegistryRepositoryRow } from "@berth/db";
import { RegistryError } from "./registry-errors";
import { namespaceOf } from "./registry-names";
import type { RegistryStorage } from "./registry-storage";

export interface TeamUsage {
  /** Bytes of the unique blobs (layers, configs, manifests) the team's repositories hold. */
  bytes: number;
  /** The digests counted, with their sizes. */
  blobs: Map<string, number>;
}

export class RegistrySettings {
  constructor(private readonly db: Db) {}

  row(name: string): RegistryRepositoryRow | null {
    return (
      this.db
        .select()
        .from(registryRepositories)
        .where(eq(registryRepositories.name, name))
        .get() ?? null
    );
  }

  rows(names: string[]): Map<string, RegistryRepositoryRow> {
    if (names.length === 0) return new Map();
    const out = new Map<string, RegistryRepositoryRow>();
    // SQLite caps bound parameters; 500 per query is far below it.
    for (let i = 0; i < names.length; i += 500)
      for (const r of this.db
        .select()
        .from(registryRepositories)
        .where(inArray(registryRepositories.name, names.slice(i, i + 500)))
        .all())
        out.set(r.name, r);
    return out;
  }

  isPublic(name: string): boolean {
    return this.row(name)?.public ?? false;
  }

  /** Creates the row if missing and applies `set`. */
  private upsert(
    name: string,
    teamId: string | null,
    set: Partial<Pick<RegistryRepositoryRow, "public" | "lastPushAt" | "lastPullAt" | "sizeBytes">>,
  ) {
    this.db
      .insert(registryRepositories)
      .values({ name, teamId, ...set })
      .onConflictDoUpdate({ target: registryRepositories.name, set: { teamId, ...set } })
      .run();
  }

  setPublic(name: string, teamId: string | null, value: boolean) {
    this.upsert(name, teamId, { public: value });
  }
  pushed(name: string, teamId: string | null, sizeBytes: number) {
    this.upsert(name, teamId, { lastPushAt: new Date(), sizeBytes });
  }
  pulled(name: string, teamId: string | null) {
    this.upsert(name, teamId, { lastPullAt: new Date() });
  }
  sized(name: string, teamId: string | null, sizeBytes: number) {
    this.upsert(name, teamId, { sizeBytes });
  }

  quota(teamId: string): number | null {
    return (
      this.db.select({ q: teams.registryQuotaBytes }).from(teams).where(eq(teams.id, teamId)).get()
        ?.q ?? null
    );
  }

  setQuota(teamId: string, bytes: number | null) {
    this.db.update(teams).set({ registryQuotaBytes: bytes }).where(eq(teams.id, teamId)).run();
  }
}

/** The unique blobs a team's repositories (`<team>/…`) hold, each counted once. */
export async function teamUsage(storage: RegistryStorage, teamName: string): Promise<TeamUsage> {
  const repos = (await storage.repositories()).filter((r) => namespaceOf(r) === teamName);
  const blobs = await storage.blobSizes(repos);
  let bytes = 0;
  for (const s of blobs.values()) bytes += s;
  return { bytes, blobs };
}

/**
 * Refuses (DENIED) a blob that would take the team past its quota. A blob the team already
 * holds costs nothing. Concurrent pushes of one team are checked independently, so they may
 * overshoot by the blobs in flight at that moment.
 */
export async function checkQuota(
  settings: RegistrySettings,
  storage: RegistryStorage,
  team: { id: string; name: string },
  digest: string,
  size: number,
): Promise<void> {
  const quota = settings.quota(team.id);
  if (quota === null) return;
  const usage = await teamUsage(storage, team.name);
  if (usage.blobs.has(digest)) return;
  if (usage.bytes + size > quota)
    throw new RegistryError(
      "DENIED",
      `storage quota exceeded: team ${team.name} uses ${usage.bytes} of its ${quota} bytes and this blob needs ${size} more`,
      { team: team.name, quota, usage: usage.bytes, size },
    );
}
