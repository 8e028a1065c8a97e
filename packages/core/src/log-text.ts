/**
 * Log text batches: a log as a reader without timestamps prints it, in runs of one stream.
 * For readers that want the output and nothing per line (`berth logs` without `-t`, the
 * download without times): the agent copies the records' texts straight from its files into the
 * batch (monitor/k8s-log-text.ts), the server forwards it, the CLI writes each run with one
 * `write`. Used when the server asks the agent with `text: true` (and `timestamps: false`);
 * older agents answer `{packed}`, which `logTextFromPacked` turns into the same form.
 *
 *   n     records in the batch (a partial record counts as one)
 *   runs  one character per run: o = stdout, e = stderr
 *   ends  where each run ends in `text` (UTF-16 offsets, non-decreasing, the last = text.length)
 *   text  the output: a full record's text then "\n", a partial (P) record's text alone (the rest
 *         of its line follows in a later record of the same stream)
 */
import { z } from "zod";
import type { PackedLogs } from "./log-pack";

export const LogTextSchema = z
  .object({
    n: z.number().int().nonnegative(),
    runs: z.string().regex(/^[oe]*$/, "runs are o or e"),
    ends: z.array(z.number().int().nonnegative()),
    text: z.string(),
  })
  .refine(
    (t) => {
      if (t.ends.length !== t.runs.length) return false;
      let prev = 0;
      for (const e of t.ends) {
        if (e < prev) return false;
        prev = e;
      }
      return prev === t.text.length;
    },
    { message: "one end per run, non-decreasing, the last at the end of the text" },
  );
export type LogText = z.infer<typeof LogTextSchema>;

/** The runs of a batch as [stream, text] pairs, in order. */
export function logTextRuns(t: LogText): ["stdout" | "stderr", string][] {
  const out: ["stdout" | "stderr", string][] = [];
  let from = 0;
  for (let i = 0; i < t.runs.length; i++) {
    const end = t.ends[i]!;
    out.push([t.runs.charCodeAt(i) === 101 ? "stderr" : "stdout", t.text.slice(from, end)]);
    from = end;
  }
  return out;
}

/** A packed batch (log-pack.ts; times ignored) as a text batch: what an older agent answers. */
export function logTextFromPacked(p: PackedLogs): LogText {
  if (p.n === 0) return { n: 0, runs: "", ends: [], text: "" };
  const lines = p.text.split("\n");
  let runs = "";
  const ends: number[] = [];
  let text = "";
  let current = -1;
  for (let i = 0; i < p.n; i++) {
    const c = p.streams.charCodeAt(i);
    const stream = c === 101 || c === 69 ? 101 : 111; // e | o
    if (stream !== current) {
      if (current !== -1) ends.push(text.length);
      runs += stream === 101 ? "e" : "o";
      current = stream;
    }
    text += lines[i] ?? "";
    if (c === 111 || c === 101) text += "\n"; // o, e: a full record
  }
  ends.push(text.length);
  return { n: p.n, runs, ends, text };
}

/** The weight of a text batch in the log stream's flow control (log-pack.ts LOG_FLOW_WINDOW). */
export function logTextWeight(t: LogText): number {
  return t.text.length + t.n + t.runs.length;
}
