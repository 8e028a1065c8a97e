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
