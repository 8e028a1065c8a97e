/**
 * The one place where domain error kinds meet transport codes (API.md "Errors").
 */
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";
import type { ErrorKind } from "@berth/core";

export const TRPC_CODE_BY_KIND: Record<ErrorKind, TRPC_ERROR_CODE_KEY> = {
  invalid_input: "BAD_REQUEST",
  not_found: "NOT_FOUND",
  conflict: "CONFLICT",
  invalid_state: "PRECONDITION_FAILED",
  unauthenticated: "UNAUTHORIZED",
  forbidden: "FORBIDDEN",
  unavailable: "SERVICE_UNAVAILABLE",
  timeout: "TIMEOUT",
  runtime: "UNPROCESSABLE_CONTENT",
  internal: "INTERNAL_SERVER_ERROR",
};

const KIND_BY_CODE = new Map<TRPC_ERROR_CODE_KEY, ErrorKind>(
  Object.entries(TRPC_CODE_BY_KIND).map(([kind, code]) => [code, kind as ErrorKind]),
);

/** The domain kind of a transport code, for errors that did not start as DomainErrors. */
export function kindOfTrpcCode(code: TRPC_ERROR_CODE_KEY): ErrorKind {
  return KIND_BY_CODE.get(code) ?? (code === "PARSE_ERROR" ? "invalid_input" : "internal");
}

/** HTTP statuses for the plain HTTP endpoints (join, health). */
export const HTTP_STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  invalid_state: 412,
  unauthenticated: 401,
  forbidden: 403,
  unavailable: 503,
  timeout: 504,
  runtime: 422,
  internal: 500,
};
