/** Validation of berth-server's answers, shared by every CLI API client (./berth-api.ts and friends). */
import type { z } from "zod";
import { CliError } from "../errors";

/** Parses `value` (the answer to `procedure`) with `schema`; a mismatch is a CliError naming the field. */
export function parseAnswer<S extends z.ZodType>(
  schema: S,
  value: unknown,
  procedure: string,
): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(
      `unexpected answer from berth-server to ${procedure}: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
      { hint: "the CLI and the server may be different versions: compare `berth version`" },
    );
  }
  return parsed.data;
}
