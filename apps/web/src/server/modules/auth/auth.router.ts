import { CliLoginInputSchema, LoginInputSchema } from "@berth/core";
import { authedProcedure, publicProcedure, router } from "../../trpc";

export const authRouter = router({
  /** The signed-in user with their team role (null when signed out), for the UI to hide what it may not do. */
  me: publicProcedure.query(({ ctx }) =>
    ctx.user ? { ...ctx.user, role: ctx.actor?.role ?? null } : null,
  ),

  login: publicProcedure.input(LoginInputSchema).mutation(async ({ ctx, input }) => {
    const { user, sessionSecret } = await ctx.services.auth.login(
      input.username,
      input.password,
      ctx.address,
    );
    ctx.audit.actor = { id: user.id, name: user.username };
    ctx.audit.target = user.username;
    ctx.setSessionCookie(sessionSecret);
    return user;
  }),

  logout: authedProcedure.mutation(({ ctx }) => {
    if (ctx.sessionSecret) ctx.services.auth.logout(ctx.sessionSecret);
    ctx.clearSessionCookie();
    return { ok: true as const };
  }),

  cliLogin: publicProcedure.input(CliLoginInputSchema).mutation(async ({ ctx, input }) => {
    const out = await ctx.services.auth.cliLogin(input.username, input.password, input.tokenName);
    ctx.audit.actor = { id: out.user.id, name: out.user.username };
    ctx.audit.target = out.user.username;
    return out;
  }),
});
