import { RegistryLoginInputSchema, RegistryLogoutInputSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

/**
 * The team's registry logins. Saving or removing one needs image.push (it decides what the
 * team's pulls and pushes authenticate as); the password never reaches the audit trail.
 */
export const registriesRouter = router({
  list: procedureWith("image.read").query(({ ctx }) => ctx.services.registries.list(ctx.actor)),
  login: procedureWith("image.push")
    .meta({ audit: { omit: ["password"] } })
    .input(RegistryLoginInputSchema)
    .mutation(({ ctx, input }) => {
      ctx.audit.target = input.registry;
      return ctx.services.registries.login(ctx.actor, input);
    }),
  logout: procedureWith("image.push")
    .input(RegistryLogoutInputSchema)
    .mutation(({ ctx, input }) => {
      ctx.audit.target = input.registry;
      return ctx.services.registries.logout(ctx.actor, input.registry);
    }),
});
