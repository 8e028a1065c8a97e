"use client";
import { createTheme, MantineProvider } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { isPermanent, isUnauthenticated } from "@/lib/errors";
import { makeTRPCClient, TRPCProvider } from "@/lib/trpc";

const theme = createTheme({
  primaryColor: "indigo",
  fontFamilyMonospace:
    "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace",
});

/** The `auth.me` query key prefix as tRPC builds it; used to re-check the session. */
const ME_KEY = [["auth", "me"]];

function makeQueryClient(): QueryClient {
  // A request answered "unauthenticated" means the session ended: re-ask auth.me, and the
  // dashboard's guard sends the user to /login.
  const onError = (err: unknown) => {
    if (isUnauthenticated(err)) void client.invalidateQueries({ queryKey: ME_KEY });
  };
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (err, query) => {
        if (JSON.stringify(query.queryKey[0]) !== JSON.stringify(ME_KEY[0])) onError(err);
      },
    }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 1000,
        retry: (count, err) => !isPermanent(err) && count < 2,
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
  return client;
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(makeTRPCClient);
  return (
    <MantineProvider theme={theme} defaultColorScheme="auto">
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
          {children}
        </TRPCProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
