import {
  ApiTokenCreateInputSchema,
  ApiTokenRefSchema,
  ChangePasswordInputSchema,
  CliLoginInputSchema,
  LoginInputSchema,
  LogoutEverywhereInputSchema,
} from "@berth/core";
import { z } from "zod";
import {
  accountProcedure,
  authedProcedure,
  permissionsInActingTeam,
  publicProcedure,
  router,
} from "../../trpc";

export const authRouter = router({
  /**
   * The signed-in user (null when signed out) with the team the request acts in, their role and
   * permissions there, and the teams they may switch to: the UI disables what they may not do.
   */
  me: publicProcedure.query(({ ctx }) =>
    ctx.user
      ? {
          ...ctx.user,
          role: ctx.actor?.role ?? null,
          team: ctx.teamError ? null : (ctx.access?.team ?? null),
          permissions: ctx.teamError ? [] : permissionsInActingTeam(ctx),
          teams: (ctx.access?.memberships ?? []).map((m) => ({
            id: m.teamId,
            name: m.teamName ?? "",
            role: m.role,
          })),
        }
      : null,
  ),

  login: publicProcedure.input(LoginInputSchema).mutation(async ({ ctx, input }) => {
    // The presented session (if any) ends: a sign-in always gets a new session id.
    const { user, sessionSecret } = await ctx.services.auth.login(
      input.username,
      input.password,
      ctx.address,
      ctx.sessionSecret,
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
    const out = await ctx.services.auth.cliLogin(
      input.username,
      input.password,
      input.tokenName,
      ctx.address,
    );
    ctx.audit.actor = { id: out.user.id, name: out.user.username };
    ctx.audit.target = out.user.username;
    return out;
  }),

  /** Ends every session of the caller (this one included) and optionally revokes every token. */
  logoutEverywhere: accountProcedure
    .input(LogoutEverywhereInputSchema)
    .mutation(({ ctx, input }) => {
      const out = ctx.services.auth.logoutEverywhere(ctx.user.id, input);
      ctx.audit.target = ctx.user.username;
      ctx.clearSessionCookie();
      return out;
    }),

  /** Changes the caller's password; other sessions end, this browser gets a new session. */
  changePassword: authedProcedure
    .input(ChangePasswordInputSchema)
    .mutation(async ({ ctx, input }) => {
      const out = await ctx.services.auth.changePassword(ctx.user.id, input, ctx.address);
      ctx.audit.target = ctx.user.username;
      if (ctx.sessionSecret) ctx.setSessionCookie(out.sessionSecret);
      return { ok: true as const };
    }),

  /** The caller's API tokens. */
  tokens: router({
    list: authedProcedure
      .input(z.object({ all: z.boolean().default(false) }).default({ all: false }))
      .query(({ ctx, input }) => ctx.services.auth.listApiTokens(ctx.user.id, input)),

    /**
     * Returns the secret once. Needs a session or an unscoped API token; called with a token, the
     * new token stays within that token's expiry.
     */
    create: accountProcedure.input(ApiTokenCreateInputSchema).mutation(({ ctx, input }) => {
      ctx.audit.target = input.name;
      const out = ctx.services.auth.createApiTokenFor(ctx.user, input);
      return { token: out.token, ...out.view };
    }),

    revoke: accountProcedure.input(ApiTokenRefSchema).mutation(({ ctx, input }) => {
      const view = ctx.services.auth.revokeApiToken(ctx.user.id, input.ref);
      ctx.audit.target = view.name;
      return view;
    }),
  }),
});
