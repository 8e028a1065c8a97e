"use client";
import { Group, Stack, TextInput, Title } from "@mantine/core";
import { IconSearch } from "@tabler/icons-react";
import { useState, type ReactNode } from "react";
import { DataTable, type DataTableProps } from "./data-table";
import { QueryView, type ListQuery } from "./query-state";

export interface ListPageProps<T> extends Omit<
  DataTableProps<T>,
  "data" | "globalFilter" | "label"
> {
  /** The page's heading, also the table's accessible name. */
  title: string;
  /** Buttons on the right of the heading. */
  actions?: ReactNode;
  query: ListQuery<T>;
  /** Plural noun: "Loading images…", the filter's label "Filter images". */
  what: string;
  /** Shown when the list is empty. */
  empty: ReactNode;
  filterPlaceholder: string;
  /**
   * Controls beside the filter (e.g. a "Running only" switch). With them the filter row stays
   * above the list even while it loads or is empty; without them it shows only above rows.
   */
  filterControls?: ReactNode;
  /** After the list (dialogs the actions open). */
  children?: ReactNode;
}

/** A dashboard list page: heading and actions, the query's states, a filter and a DataTable. */
export function ListPage<T>({
  title,
  actions,
  query,
  what,
  empty,
  filterPlaceholder,
  filterControls,
  children,
  ...table
}: ListPageProps<T>) {
  const [filter, setFilter] = useState("");
  const filterInput = (width: { w: number } | { maw: number }) => (
    <TextInput
      label={`Filter ${what}`}
      placeholder={filterPlaceholder}
      leftSection={<IconSearch size={14} aria-hidden />}
      value={filter}
      onChange={(e) => setFilter(e.currentTarget.value)}
      {...width}
    />
  );
  const dataTable = (data: T[]) => (
    <DataTable label={title} data={data} globalFilter={filter} {...table} />
  );
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>{title}</Title>
        {actions}
      </Group>
      {filterControls !== undefined && (
        <Group align="flex-end">
          {filterInput({ w: 360 })}
          {filterControls}
        </Group>
      )}
      <QueryView query={query} what={what} empty={empty}>
        {(data) =>
          filterControls !== undefined ? (
            dataTable(data)
          ) : (
            <>
              {filterInput({ maw: 360 })}
              {dataTable(data)}
            </>
          )
        }
      </QueryView>
      {children}
    </Stack>
  );
}
