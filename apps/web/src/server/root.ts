/** The API's root router. Clients import only `type AppRouter` (package export `@berth/web/router`). */
import { authRouter } from "./modules/auth/auth.router";
import { containersRouter } from "./modules/containers/containers.router";
import { imagesRouter } from "./modules/images/images.router";
import { joinTokensRouter } from "./modules/join-tokens/join-tokens.router";
import { networksRouter } from "./modules/networks/networks.router";
import { nodesRouter } from "./modules/nodes/nodes.router";
import { registriesRouter } from "./modules/registries/registries.router";
import { registryRouter } from "./modules/registry/registry.router";
import { volumesRouter } from "./modules/volumes/volumes.router";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  auth: authRouter,
  nodes: nodesRouter,
  joinTokens: joinTokensRouter,
  containers: containersRouter,
  images: imagesRouter,
  registries: registriesRouter,
  registry: registryRouter,
  volumes: volumesRouter,
  networks: networksRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
