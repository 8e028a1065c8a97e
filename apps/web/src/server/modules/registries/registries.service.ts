/**
 * Registry credentials per team (`berth login REGISTRY`): stored sealed (secret-box.ts), listed
 * without secrets, and handed to the agents inside the commands that need them (image.pull,
 * image.push, container.run/create) — only for the caller's own team.
 *
 * `login` does not contact the registry: the server never reaches out to arbitrary hosts (an
 * SSRF vector, and tests stay on loopback). A wrong password shows at first use, worded by the
 * agent's registry client ("the credentials of "alice" were refused").
 */
import {
  DomainError,
  RegistryHostSchema,
  isDomainError,
  newId,
  normalizeRegistryHost,
  registryOfReference,
  type RegistryCredentialBody,
} from "@berth/core";
import { and, eq, registryCredentials, type Db } from "@berth/db";
import { isSelfRegistry } from "../../registry/registry-self";
import { SecretBox } from "./secret-box";

export interface RegistryLoginView {
  registry: string;
  username: string;
  /** Epoch ms. */
  updatedAt: number;
}

const bound = (teamId: string, registry: string) => `${teamId}\n${registry}`;

/** The key the store uses for a registry: lowercase host[:port], Docker Hub's aliases folded. */
export function registryKey(host: string): string {
  return normalizeRegistryHost(RegistryHostSchema.parse(host));
}

/**
 * A registry's refusal (the agent reports it as `unauthenticated`) is not the caller's Berth
 * session failing: it becomes `invalid_state` (412) naming the registry and how to log in, so
 * clients do not mistake it for their own token being refused.
 */
export function registryAuthError(e: unknown, registry: string): unknown {
  if (!isDomainError(e) || e.kind !== "unauthenticated") return e;
  return new DomainError(
    "invalid_state",
    `${e.message}: save your team's credential with \`berth login ${registry} -u USER --password-stdin\``,
  );
}

export class RegistriesService {
  private readonly box: SecretBox;

  constructor(
    private readonly db: Db,
    keyProvider: () => Buffer,
    /** berth-server's own registry hosts (registry/registry-self.ts): pulled with node credentials. */
    private readonly selfHosts: readonly string[] = [],
  ) {
    this.box = new SecretBox(keyProvider);
  }

  /** Saves (or replaces) the team's credential for `registry`. */
  login(
    actor: { id: string; teamId: string },
    input: { registry: string; username: string; password: string },
  ): RegistryLoginView {
    const registry = registryKey(input.registry);
    const secret = this.box.seal(input.password, bound(actor.teamId, registry));
    const now = new Date();
    const row = this.db
      .insert(registryCredentials)
      .values({
        id: newId(),
        teamId: actor.teamId,
        registry,
        username: input.username,
        secret,
        createdBy: actor.id,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [registryCredentials.teamId, registryCredentials.registry],
        set: { username: input.username, secret, createdBy: actor.id, updatedAt: now },
      })
      .returning()
      .get();
    return { registry: row.registry, username: row.username, updatedAt: row.updatedAt.getTime() };
  }

  /** Forgets the team's credential for `registry`; `removed: false` when there was none. */
  logout(actor: { teamId: string }, registry: string): { registry: string; removed: boolean } {
    const key = registryKey(registry);
    const r = this.db
      .delete(registryCredentials)
      .where(
        and(eq(registryCredentials.teamId, actor.teamId), eq(registryCredentials.registry, key)),
      )
      .run();
    return { registry: key, removed: r.changes > 0 };
  }

  /** The team's registry logins, without secrets. */
  list(actor: { teamId: string }): RegistryLoginView[] {
    return this.db
      .select({
        registry: registryCredentials.registry,
        username: registryCredentials.username,
        updatedAt: registryCredentials.updatedAt,
      })
      .from(registryCredentials)
      .where(eq(registryCredentials.teamId, actor.teamId))
      .orderBy(registryCredentials.registry)
      .all()
      .map((r) => ({ ...r, updatedAt: r.updatedAt.getTime() }));
  }

  /** The team's credential for `registry` (decrypted), or undefined (anonymous). */
  credentialFor(teamId: string, registry: string): RegistryCredentialBody | undefined {
    const key = registryKey(registry);
    const row = this.db
      .select()
      .from(registryCredentials)
      .where(and(eq(registryCredentials.teamId, teamId), eq(registryCredentials.registry, key)))
      .get();
    if (!row) return undefined;
    return { username: row.username, password: this.box.open(row.secret, bound(teamId, key)) };
  }

  /**
   * What a node pulls from `registry` with for the team: for berth-server's own registry,
   * `{onBehalfOfTeam}` (the node authenticates with its node credential and gets the team's
   * pull rights, no stored password involved); elsewhere the team's stored credential.
   */
  pullCredentialFor(teamId: string, registry: string): RegistryCredentialBody | undefined {
    if (isSelfRegistry(this.selfHosts, registry)) return { onBehalfOfTeam: teamId };
    return this.credentialFor(teamId, registry);
  }

  /** What a node pulls the image a reference names with (see pullCredentialFor). */
  credentialForImage(teamId: string, ref: string): RegistryCredentialBody | undefined {
    return this.pullCredentialFor(teamId, registryOfReference(ref));
  }
}
