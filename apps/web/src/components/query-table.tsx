"use client";
import type { ReactNode } from "react";
import { DataTable, type DataTableProps } from "./data-table";
import { QueryView, type ListQuery } from "./query-state";

export interface QueryTableProps<T> extends Omit<DataTableProps<T>, "data"> {
  query: ListQuery<T>;
  /** Plural noun for the loading and error messages (see QueryView). */
  what: string;
  /** Shown when the list is empty. */
  empty: ReactNode;
}

/** A list query's loading, error and empty states (QueryView), then its rows in a DataTable. */
export function QueryTable<T>({ query, what, empty, ...table }: QueryTableProps<T>) {
  return (
    <QueryView query={query} what={what} empty={empty}>
      {(data) => <DataTable data={data} {...table} />}
    </QueryView>
  );
}
