import { z } from "zod";

/** The part of a tRPC client error the dashboard relies on (see docs/API.md, "Errors"). */
const ErrorShapeSchema = z.object({
  message: z.string(),
  data: z
    .object({
      code: z.string().optional(),
      kind: z.string().optional(),
      httpStatus: z.number().optional(),
    })
    .nullish(),
});

export interface ErrorInfo {
  message: string;
  /** tRPC code, e.g. UNAUTHORIZED, NOT_FOUND. */
  code: string | undefined;
  /** Berth's domain error kind, e.g. not_found, invalid_state. */
  kind: string | undefined;
}

export function errorInfo(err: unknown): ErrorInfo {
  const parsed = ErrorShapeSchema.safeParse(err);
  if (parsed.success) {
    return {
      message: parsed.data.message || "request failed",
      code: parsed.data.data?.code,
      kind: parsed.data.data?.kind,
    };
  }
  if (err instanceof Error) return { message: err.message, code: undefined, kind: undefined };
  return { message: String(err), code: undefined, kind: undefined };
}

export const errorMessage = (err: unknown): string => errorInfo(err).message;

export function isUnauthenticated(err: unknown): boolean {
  const { code, kind } = errorInfo(err);
  return code === "UNAUTHORIZED" || kind === "unauthenticated";
}

export function isNotFound(err: unknown): boolean {
  const { code, kind } = errorInfo(err);
  return code === "NOT_FOUND" || kind === "not_found";
}

/** Failures that retrying will not fix. */
export function isPermanent(err: unknown): boolean {
  const { code } = errorInfo(err);
  return (
    code === "UNAUTHORIZED" ||
    code === "FORBIDDEN" ||
    code === "NOT_FOUND" ||
    code === "BAD_REQUEST" ||
    code === "PRECONDITION_FAILED" ||
    code === "CONFLICT"
  );
}
