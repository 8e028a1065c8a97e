"use client";
import { Anchor } from "@mantine/core";
import Link from "next/link";
import { isNotFound } from "@/lib/errors";
import { EmptyState, ErrorState } from "./query-state";

/**
 * A detail page whose object did not load: "No such …" with a link back to the list when the
 * server says it does not exist, otherwise the error with a retry.
 */
export function DetailLoadError({
  what,
  error,
  onRetry,
  listHref,
  listName,
}: {
  /** Singular noun: "node" → "No such node", "Could not load the node". */
  what: string;
  error: unknown;
  onRetry: () => void;
  listHref: string;
  /** Plural noun of the list page: "Back to nodes". */
  listName: string;
}) {
  return isNotFound(error) ? (
    <EmptyState title={`No such ${what}`}>
      It may have been removed.{" "}
      <Anchor component={Link} href={listHref}>
        Back to {listName}
      </Anchor>
    </EmptyState>
  ) : (
    <ErrorState title={`Could not load the ${what}`} error={error} onRetry={onRetry} />
  );
}
