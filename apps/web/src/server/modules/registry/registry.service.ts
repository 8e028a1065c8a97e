/**
 * berth-server's own registry as the dashboard sees it: repositories the caller may pull, their
 * tags, the public switch, deletes and the team's storage usage against its quota. Permissions
 * are the registry's (RegistryAccess): viewers read, owners delete and toggle public,
 * administrators everything; quotas are set by administrators.
 */
import { DomainError } from "@berth/core";
import { eq, teams, type Db } from "@berth/db";
import { RegistryAccess } from "../../registry/registry-access";
import { namespaceOf } from "../../registry/registry-names";
import type { RegistrySettings } from "../../registry/registry-settings";
import { teamUsage } from "../../registry/registry-settings";
import { referencedDigests, type RegistryStorage } from "../../registry/registry-storage";
import type { RegistryAction } from "../../registry/registry-token";
import type { AuthUser } from "../auth/auth.service";

export interface RegistryRepository {
  name: string;
  team: string | null;
  public: boolean;
  tagCount: number;
  /** Bytes of the unique blobs the repository holds (layers, configs, manifests). */
  sizeBytes: number;
  /** Epoch milliseconds (the API carries plain JSON). */
  lastPushAt: number | null;
  lastPullAt: number | null;
  canDelete: boolean;
  canPush: boolean;
}

export interface RegistryTag {
  tag: string;
  digest: string;
  /** The manifest plus everything it references (config, layers, child manifests). */
  sizeBytes: number;
  /** Epoch milliseconds. */
  pushedAt: number;
}

export interface RegistryUsage {
  team: string;
  usedBytes: number;
  /** null: no quota. */
  quotaBytes: number | null;
}

export class RegistryService {
  private readonly access: RegistryAccess;
  private readonly settings: RegistrySettings;

  constructor(
    private readonly db: Db,
    readonly storage: RegistryStorage,
    /** berth-server's public URL: its host is the registry's (`docker pull <host>/<team>/<repo>`). */
    private readonly publicUrl: string,
  ) {
    this.access = new RegistryAccess(db);
    this.settings = this.access.settings;
  }

  private require(user: AuthUser, repository: string, action: RegistryAction, what: string) {
    const allowed = this.access.actions(user, repository);
    if (!allowed.includes("pull"))
      // Not visible: the same answer as a repository that does not exist.
      throw new DomainError("not_found", `no repository ${repository}`);
    if (!allowed.includes(action))
      throw new DomainError("forbidden", `${user.username} may not ${what} ${repository}`);
  }

  private async requireExisting(repository: string) {
    if ((await this.storage.tags(repository)) === null)
      throw new DomainError("not_found", `no repository ${repository}`);
  }

  /** Where clients reach the registry: the host (and port) of the server's public URL. */
  info(): { host: string } {
    return { host: new URL(this.publicUrl).host };
  }

  /** The repositories the caller may pull, sorted by name. */
  async repositories(user: AuthUser): Promise<RegistryRepository[]> {
    const names = (await this.storage.repositories()).filter((r) =>
      this.access.actions(user, r).includes("pull"),
    );
    const rows = this.settings.rows(names);
    const out: RegistryRepository[] = [];
    for (const name of names) {
      const row = rows.get(name);
      const actions = this.access.actions(user, name);
      const sizeBytes =
        row?.sizeBytes ??
        [...(await this.storage.blobSizes([name])).values()].reduce((a, b) => a + b, 0);
      out.push({
        name,
        team: namespaceOf(name),
        public: row?.public ?? false,
        tagCount: (await this.storage.tags(name))?.length ?? 0,
        sizeBytes,
        lastPushAt: row?.lastPushAt?.getTime() ?? null,
        lastPullAt: row?.lastPullAt?.getTime() ?? null,
        canDelete: actions.includes("delete"),
        canPush: actions.includes("push"),
      });
    }
    return out;
  }

  async tags(user: AuthUser, repository: string): Promise<RegistryTag[]> {
    this.require(user, repository, "pull", "read");
    await this.requireExisting(repository);
    const out: RegistryTag[] = [];
    const sizes = new Map<string, number>();
    for (const t of await this.storage.tagDetails(repository)) {
      let size = sizes.get(t.digest);
      if (size === undefined) {
        size = 0;
        const m = await this.storage.manifest(repository, t.digest);
        if (m) {
          size = m.bytes.length;
          for (const d of referencedDigests(m.bytes)) size += (await this.storage.blobSize(d)) ?? 0;
        }
        sizes.set(t.digest, size);
      }
      out.push({ tag: t.tag, digest: t.digest, pushedAt: t.pushedAt.getTime(), sizeBytes: size });
    }
    return out;
  }

  async setPublic(user: AuthUser, repository: string, value: boolean) {
    this.require(user, repository, "delete", "change the visibility of");
    await this.requireExisting(repository);
    this.settings.setPublic(repository, this.access.teamOf(repository)?.id ?? null, value);
    return { repository, public: value };
  }

  async deleteTag(user: AuthUser, repository: string, tag: string) {
    this.require(user, repository, "delete", "delete from");
    if (!(await this.storage.deleteTag(repository, tag)))
      throw new DomainError("not_found", `no tag ${repository}:${tag}`);
    return { repository, tag };
  }

  /** Deletes a manifest and every tag pointing at it; its blobs go at the next GC. */
  async deleteManifest(user: AuthUser, repository: string, digest: string) {
    this.require(user, repository, "delete", "delete from");
    if (!(await this.storage.deleteManifest(repository, digest)))
      throw new DomainError("not_found", `no manifest ${repository}@${digest}`);
    const size = [...(await this.storage.blobSizes([repository])).values()].reduce(
      (a, b) => a + b,
      0,
    );
    this.settings.sized(repository, this.access.teamOf(repository)?.id ?? null, size);
    return { repository, digest };
  }

  /** A team's registry usage and quota (the caller's current team). */
  async usage(teamId: string): Promise<RegistryUsage> {
    const team = this.team({ id: teamId });
    const u = await teamUsage(this.storage, team.name);
    return { team: team.name, usedBytes: u.bytes, quotaBytes: team.registryQuotaBytes };
  }

  /** Sets (or with null removes) a team's storage quota. Administrators only (the router checks). */
  async setQuota(teamName: string, bytes: number | null): Promise<RegistryUsage> {
    const team = this.team({ name: teamName });
    this.settings.setQuota(team.id, bytes);
    return this.usage(team.id);
  }

  private team(ref: { id: string } | { name: string }) {
    const t = this.db
      .select()
      .from(teams)
      .where("id" in ref ? eq(teams.id, ref.id) : eq(teams.name, ref.name))
      .get();
    if (!t) throw new DomainError("not_found", `no team ${"id" in ref ? ref.id : ref.name}`);
    return t;
  }
}
