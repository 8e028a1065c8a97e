"use client";
import type { ColumnDef } from "@tanstack/react-table";
import type { ReactNode } from "react";

/** A table's "Actions" column: the row's buttons; not sortable, not searched by the filter. */
export function actionsColumn<T>(cell: (row: T) => ReactNode): ColumnDef<T, unknown> {
  return {
    id: "actions",
    header: "Actions",
    enableSorting: false,
    enableGlobalFilter: false,
    cell: (c) => cell(c.row.original),
  };
}
