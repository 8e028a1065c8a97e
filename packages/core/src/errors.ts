/**
 * Domain errors. Code below the transport edge throws these with a kind; the edge (tRPC
 * middleware, agent protocol, CLI) maps the kind to its own codes. Nothing inside the
 * system throws transport errors.
 */
import { z } from "zod";

export const ErrorKindSchema = z.enum([
  "invalid_input",
  "not_found",
  "conflict",
  "invalid_state",
  "unauthenticated",
  "forbidden",
  "unavailable",
  "timeout",
  "runtime",
  "internal",
]);
export type ErrorKind = z.infer<typeof ErrorKindSchema>;

/** The serialisable shape of an error as it crosses a process boundary. */
export const ErrorBodySchema = z.object({
  kind: ErrorKindSchema,
  message: z.string().max(16_384),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "DomainError";
    this.kind = kind;
    this.details = details;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { kind: this.kind, message: this.message }
      : { kind: this.kind, message: this.message, details: this.details };
  }

  static fromBody(body: ErrorBody): DomainError {
    return new DomainError(body.kind, body.message, body.details);
  }
}

export const notFound = (what: string, details?: Record<string, unknown>) =>
  new DomainError("not_found", what, details);
export const invalidInput = (message: string, details?: Record<string, unknown>) =>
  new DomainError("invalid_input", message, details);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new DomainError("conflict", message, details);
export const invalidState = (message: string, details?: Record<string, unknown>) =>
  new DomainError("invalid_state", message, details);

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

/** Turns anything thrown into an ErrorBody without leaking stack traces. */
export function toErrorBody(e: unknown): ErrorBody {
  if (e instanceof DomainError) return e.toBody();
  const message = e instanceof Error ? e.message : String(e);
  return { kind: "internal", message: message.slice(0, 16_384) };
}
