/**
 * Errors as the user sees them: one line `berth: <message>` on stderr, an optional hint, and
 * docker's exit codes (1 for a failed command, 125 when `run` itself fails, 2 for usage errors).
 * Server errors arrive as TRPCClientError; they are mapped here, at the CLI's edge, by their
 * tRPC code and the domain `kind` berth-server puts in `error.data`.
 */
import { z } from "zod";

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_RUN_FAILED = 125;

export class CliError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  /** Further lines printed under the message (validation errors by field). */
  readonly details: string[];

  constructor(
    message: string,
    opts: { hint?: string; exitCode?: number; details?: string[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "CliError";
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT_FAILURE;
    this.details = opts.details ?? [];
  }

  withExitCode(exitCode: number): CliError {
    return new CliError(this.message, {
      hint: this.hint,
      exitCode,
      details: this.details,
      cause: this.cause,
    });
  }
}

export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: EXIT_USAGE });
    this.name = "UsageError";
  }
}

/** What berth-server puts in `error.data` (see docs/API.md); every field optional for robustness. */
const ServerErrorDataSchema = z
  .object({
    code: z.string().optional(),
    httpStatus: z.number().optional(),
    kind: z.string().optional(),
    zodError: z
      .object({
        formErrors: z.array(z.string()).default([]),
        fieldErrors: z.record(z.string(), z.array(z.string()).optional()).default({}),
      })
      .nullish(),
  })
  .passthrough();

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
]);

function networkCode(e: unknown, depth = 0): string | null {
  if (depth > 5 || typeof e !== "object" || e === null) return null;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  return networkCode((e as { cause?: unknown }).cause, depth + 1);
}

export interface ErrorContext {
  server: string;
  hasToken: boolean;
  /** Where the token came from, to say which one was refused. */
  tokenFrom?: "flag" | "env" | "file" | null;
  /** The request was meant to go without a token (login): a refusal is about the password. */
  anonymous?: boolean;
}

const LOGIN_HINT = "run `berth login -u USER --password-stdin`";

/** Validation errors from a zod error (local), as `path: message` lines. */
export function zodIssueLines(error: z.ZodError): string[] {
  return error.issues.map((i) =>
    i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message,
  );
}

function refusedToken(ctx: ErrorContext): string {
  if (ctx.tokenFrom === "flag") return "the --token";
  if (ctx.tokenFrom === "env") return "the token in BERTH_TOKEN";
  return `the saved token for ${ctx.server}`;
}

/** Turns anything thrown while talking to berth-server into a CliError. */
export function toCliError(e: unknown, ctx: ErrorContext): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof z.ZodError) {
    return new CliError("invalid input", { details: zodIssueLines(e), exitCode: EXIT_USAGE });
  }
  const net = networkCode(e);
  if (net !== null) {
    const reason =
      net === "ECONNREFUSED" ? "connection refused" : net === "ENOTFOUND" ? "host not found" : net;
    return new CliError(`cannot connect to berth-server at ${ctx.server}: ${reason}`, {
      hint: `is berth-server running at ${ctx.server}? start it with \`npm run up\``,
      cause: e,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  const rawData = typeof e === "object" && e !== null ? (e as { data?: unknown }).data : undefined;
  const data = ServerErrorDataSchema.safeParse(rawData ?? {});
  if (!data.success || (data.data.code === undefined && data.data.kind === undefined)) {
    return new CliError(message, { cause: e });
  }
  const { code, kind, zodError } = data.data;

  if (zodError) {
    const details = [
      ...zodError.formErrors,
      ...Object.entries(zodError.fieldErrors).flatMap(([field, msgs]) =>
        (msgs ?? []).map((m) => `${field}: ${m}`),
      ),
    ];
    return new CliError("invalid input", { details, exitCode: EXIT_FAILURE, cause: e });
  }
  if ((code === "UNAUTHORIZED" || kind === "unauthenticated") && !ctx.anonymous) {
    return ctx.hasToken
      ? new CliError(`${message} (${refusedToken(ctx)} was refused)`, {
          hint: LOGIN_HINT,
          cause: e,
        })
      : new CliError(`not logged in to ${ctx.server}`, { hint: LOGIN_HINT, cause: e });
  }
  if (code === "FORBIDDEN" || kind === "forbidden") {
    return new CliError(message, { hint: "ask an administrator of this berth-server", cause: e });
  }
  return new CliError(message, { cause: e });
}

/** The lines printed for an error, without a trailing newline. */
export function formatCliError(e: CliError): string {
  const lines = [`berth: ${e.message}`];
  for (const d of e.details) lines.push(`  ${d}`);
  if (e.hint) lines.push(`hint: ${e.hint}`);
  return lines.join("\n");
}
