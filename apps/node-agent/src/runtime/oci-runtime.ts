/**
 * OciRuntime: the low-level runtime (runc, crun) driven through its CLI. Lifecycle of one
 * container: create (usually through the monitor, which owns stdio) → start → (kill) →
 * delete. `state` is for adoption and diagnostics, never a polling loop.
 */
import { z } from "zod";

export const RuntimeStateSchema = z.object({
  id: z.string(),
  pid: z.number().int(),
  status: z.enum(["creating", "created", "running", "stopped", "paused"]),
  bundle: z.string().optional(),
});
export type RuntimeState = z.infer<typeof RuntimeStateSchema>;

export interface OciRuntime {
  readonly name: string;
  /** Absolute path of the runtime binary. */
  readonly path: string;
  /** Global arguments every invocation needs (e.g. `--root=<dir>`), for the monitor too. */
  readonly globalArgs: readonly string[];
  version(): Promise<string>;
  /** Creates without a monitor (stdio inherited from nothing): for tools and tests. */
  create(id: string, bundle: string, pidFile: string): Promise<void>;
  start(id: string): Promise<void>;
  /** null when the runtime does not know the container. */
  state(id: string): Promise<RuntimeState | null>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  /** Deletes the container (and its cgroups); does nothing when it does not exist. */
  delete(id: string, force?: boolean): Promise<void>;
}
