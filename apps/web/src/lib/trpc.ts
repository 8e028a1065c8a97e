"use client";
/**
 * The dashboard's tRPC client: queries and mutations batched over HTTP, subscriptions over
 * SSE, plain JSON (the server uses no transformer). Only the router's *type* crosses over.
 */
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@berth/web/router";
import { csrfHeaders } from "./csrf";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type ContainerView = RouterOutputs["containers"]["get"];
export type NodeView = RouterOutputs["nodes"]["list"][number];
export type NodeDetail = RouterOutputs["nodes"]["get"];
export type Me = NonNullable<RouterOutputs["auth"]["me"]>;

export const TRPC_PATH = "/api/trpc";

export function makeTRPCClient(): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url: TRPC_PATH }),
        false: httpBatchLink({
          url: TRPC_PATH,
          fetch: (url, init) => fetch(url, { ...init, credentials: "same-origin" }),
          // Read per request: the token changes when the session does (sign-in, password change).
          headers: () => csrfHeaders(),
        }),
      }),
    ],
  });
}
