import type { BerthApi } from "../api/berth-api";
import type { CliContext } from "../context";
import { CliError, EXIT_FAILURE, toCliError } from "../errors";

/**
 * Runs `action` for each ref like docker's multi-ref verbs (stop, rm, kill, rmi…): prints the
 * `lines` of each success (by default the ref itself), one `berth: REF: error` line per failure,
 * and fails (exit 1) if any did. A lost server or login fails them all: it stops at the first.
 */
export async function eachRef<T>(
  ctx: CliContext,
  api: BerthApi,
  refs: string[],
  action: (ref: string) => Promise<T>,
  lines: (ref: string, result: T) => readonly string[] = (ref) => [ref],
): Promise<void> {
  let failed = 0;
  for (const ref of refs) {
    try {
      const result = await action(ref);
      for (const line of lines(ref, result)) ctx.stdout.write(`${line}\n`);
    } catch (e) {
      failed++;
      const err = toCliError(e, { server: api.server, hasToken: api.hasToken });
      if (err.hint) throw err;
      ctx.stderr.write(`berth: ${ref}: ${err.message}\n`);
    }
  }
  if (failed > 0)
    throw new CliError(`${failed} of ${refs.length} failed`, { exitCode: EXIT_FAILURE });
}

/**
 * docker's `… inspect A B C`: one JSON array of what was found (printed even when some failed),
 * then a failure naming what was not (exit 1). A lost server or login stops at the first.
 */
export async function inspectEach(
  ctx: CliContext,
  api: BerthApi,
  refs: string[],
  what: string,
  fetch: (ref: string) => Promise<Record<string, unknown>>,
): Promise<void> {
  const found: Record<string, unknown>[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      found.push(await fetch(ref));
    } catch (e) {
      const err = toCliError(e, { server: api.server, hasToken: api.hasToken });
      if (err.hint) throw err;
      errors.push(`${ref}: ${err.message}`);
    }
  }
  ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  if (errors.length > 0)
    throw new CliError(errors.length === 1 ? errors[0]! : `${errors.length} ${what} failed`, {
      details: errors.length === 1 ? [] : errors,
    });
}
