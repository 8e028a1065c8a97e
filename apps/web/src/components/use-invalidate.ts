"use client";
import { useQueryClient, type QueryKey } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc";

/**
 * A function that marks the given queries stale (they refetch if shown), e.g.
 * `useInvalidate((t) => [t.nodes.pathKey(), t.containers.pathKey()])` after a node changes.
 */
export function useInvalidate(keys: (trpc: ReturnType<typeof useTRPC>) => QueryKey[]) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => {
    for (const queryKey of keys(trpc)) void queryClient.invalidateQueries({ queryKey });
  };
}
