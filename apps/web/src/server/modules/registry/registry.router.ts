/** registry.*: berth-server's own registry for the dashboard (the OCI API itself is at /v2/). */
import { z } from "zod";
import { MAX_NAME_LENGTH, REPOSITORY_NAME_RE, TAG_RE } from "../../registry/registry-names";
import { adminProcedure, procedureWith, router } from "../../trpc";

const RepositorySchema = z
  .string()
  .max(MAX_NAME_LENGTH)
  .regex(REPOSITORY_NAME_RE, "not a valid repository name (<team>/<name>, lowercase)");
const TagSchema = z.string().regex(TAG_RE, "not a valid tag");
const DigestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, "not a sha256 digest");

/** A repository's team is its name's namespace: the service checks it (RegistryAccess, `can`). */
const repositoryTeam = { team: "resource" } as const;

export const registryRouter = router({
  info: procedureWith("registry.pull").query(({ ctx }) => ctx.services.registry.info()),
  repositories: procedureWith("registry.pull", repositoryTeam).query(({ ctx }) =>
    ctx.services.registry.repositories(ctx.user),
  ),
  tags: procedureWith("registry.pull", repositoryTeam)
    .input(z.object({ repository: RepositorySchema }))
    .query(({ ctx, input }) => ctx.services.registry.tags(ctx.user, input.repository)),
  usage: procedureWith("usage.read").query(({ ctx }) =>
    ctx.services.registry.usage(ctx.actor.teamId),
  ),
  setPublic: procedureWith("registry.delete", repositoryTeam)
    .input(z.object({ repository: RepositorySchema, public: z.boolean() }))
    .mutation(({ ctx, input }) =>
      ctx.services.registry.setPublic(ctx.user, input.repository, input.public),
    ),
  deleteTag: procedureWith("registry.delete", repositoryTeam)
    .input(z.object({ repository: RepositorySchema, tag: TagSchema }))
    .mutation(({ ctx, input }) =>
      ctx.services.registry.deleteTag(ctx.user, input.repository, input.tag),
    ),
  deleteManifest: procedureWith("registry.delete", repositoryTeam)
    .input(z.object({ repository: RepositorySchema, digest: DigestSchema }))
    .mutation(({ ctx, input }) =>
      ctx.services.registry.deleteManifest(ctx.user, input.repository, input.digest),
    ),
  setQuota: adminProcedure
    .input(
      z.object({
        team: z.string().min(1).max(64),
        bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.registry.setQuota(input.team, input.bytes)),
});
