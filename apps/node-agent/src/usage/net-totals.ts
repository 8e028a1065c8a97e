/**
 * A container's network bytes as one monotonic total per direction. The host veths' counters
 * are per veth: a `network disconnect` deletes one (its bytes would vanish from a plain sum,
 * which the server then reads as a counter reset and bills the whole sum again), a `network
 * connect` adds one starting from 0, a veth re-created under the same name starts over. So the
 * agent keeps the last reading per veth name and adds each veth's non-negative delta: a counter
 * lower than its last (reset / new veth under the same name) or a name never seen adds its
 * current value; a vanished veth keeps what it contributed (its last is dropped, so a veth
 * re-created under that name counts as new). The state is persisted with the usage spool's
 * state file (usage-spool.ts), so an agent restart continues the totals.
 */
import { z } from "zod";

/** A veth's bytes from the container's side (rx = the host end's tx_bytes). */
export const VethBytesSchema = z.object({
  rx: z.number().nonnegative(),
  tx: z.number().nonnegative(),
});
export type VethBytes = z.infer<typeof VethBytesSchema>;

export const NetStateSchema = z.object({
  /** When it was last advanced (ms). */
  at: z.number(),
  rx: z.number().nonnegative(),
  tx: z.number().nonnegative(),
  veths: z.record(z.string(), VethBytesSchema),
});
export type NetState = z.infer<typeof NetStateSchema>;

const step = (cur: number, last: number | undefined) =>
  last === undefined || cur < last ? cur : cur - last;

/** The totals after a reading of the container's present veths (a pure function). */
export function advanceNet(
  prev: NetState | undefined,
  veths: Readonly<Record<string, VethBytes>>,
  at: number,
): NetState {
  let rx = prev?.rx ?? 0;
  let tx = prev?.tx ?? 0;
  const next: Record<string, VethBytes> = {};
  for (const [name, cur] of Object.entries(veths)) {
    const last = prev?.veths[name];
    rx += step(cur.rx, last?.rx);
    tx += step(cur.tx, last?.tx);
    next[name] = { rx: cur.rx, tx: cur.tx };
  }
  return { at, rx, tx, veths: next };
}
