/**
 * Server-side log search: the agent applies it while it reads the container's log files, so only
 * matching lines cross the network. A plain substring by default, a JavaScript regular expression
 * with `regex`; `ignoreCase` for both.
 */
import { z } from "zod";

export const LogGrepSchema = z
  .object({
    pattern: z.string().min(1, "give a pattern to search for").max(1024),
    regex: z.boolean().default(false),
    ignoreCase: z.boolean().default(false),
  })
  .refine(
    (g) => {
      if (!g.regex) return true;
      try {
        new RegExp(g.pattern, g.ignoreCase ? "i" : "");
        return true;
      } catch {
        return false;
      }
    },
    { message: "invalid regular expression", path: ["pattern"] },
  );
export type LogGrep = z.infer<typeof LogGrepSchema>;

/** A predicate over a line's text for `g`. */
export function logLineMatcher(g: LogGrep): (text: string) => boolean {
  if (g.regex) {
    const re = new RegExp(g.pattern, g.ignoreCase ? "i" : "");
    return (t) => re.test(t);
  }
  if (!g.ignoreCase) return (t) => t.includes(g.pattern);
  const p = g.pattern.toLowerCase();
  return (t) => t.toLowerCase().includes(p);
}
