/** The API's root router. Clients import only `type AppRouter` (package export `@berth/web/router`). */
import { auditRouter } from "./modules/audit/audit.router";
import { authRouter } from "./modules/auth/auth.router";
import { containersRouter } from "./modules/containers/containers.router";
import { imagesRouter } from "./modules/images/images.router";
import { joinTokensRouter } from "./modules/join-tokens/join-tokens.router";
import { networksRouter } from "./modules/networks/networks.router";
import { nodesRouter } from "./modules/nodes/nodes.router";
import { poolsRouter } from "./modules/pools/pools.router";
import { recordingsRouter } from "./modules/recordings/recordings.router";
import { registriesRouter } from "./modules/registries/registries.router";
import { registryRouter } from "./modules/registry/registry.router";
import { usageRouter } from "./modules/usage/usage.router";
import { teamsRouter } from "./modules/teams/teams.router";
import { accessRouter } from "./modules/users/access.router";
import { usersRouter } from "./modules/users/users.router";
import { volumesRouter } from "./modules/volumes/volumes.router";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  auth: authRouter,
  audit: auditRouter,
  recordings: recordingsRouter,
  nodes: nodesRouter,
  pools: poolsRouter,
  joinTokens: joinTokensRouter,
  containers: containersRouter,
  images: imagesRouter,
  registries: registriesRouter,
  registry: registryRouter,
  volumes: volumesRouter,
  networks: networksRouter,
  teams: teamsRouter,
  users: usersRouter,
  access: accessRouter,
  usage: usageRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
