/** The API's root router. Clients import only `type AppRouter` (package export `@berth/web/router`). */
import { authRouter } from "./modules/auth/auth.router";
import { containersRouter } from "./modules/containers/containers.router";
import { imagesRouter } from "./modules/images/images.router";
import { joinTokensRouter } from "./modules/join-tokens/join-tokens.router";
import { nodesRouter } from "./modules/nodes/nodes.router";
import { volumesRouter } from "./modules/volumes/volumes.router";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  auth: authRouter,
  nodes: nodesRouter,
  joinTokens: joinTokensRouter,
  containers: containersRouter,
  images: imagesRouter,
  volumes: volumesRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
