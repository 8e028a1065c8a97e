/** `inspect` output: the server's container view plus docker's `State` block. */
import type { ContainerView } from "../api/views";

/** A container as `inspect` prints it: the server's view plus docker's `State` block. */
export type InspectView = ContainerView & {
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    ExitCode: number | null;
    Error: string;
    StartedAt: string | null;
    FinishedAt: string | null;
  };
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function inspectView(v: ContainerView): InspectView {
  return {
    ...v,
    State: {
      Status: v.state,
      // docker: a paused container is also running (its processes exist, frozen)
      Running: v.state === "running" || v.state === "paused",
      Paused: v.state === "paused",
      Restarting: false,
      OOMKilled: v.oomKilled,
      Dead: v.state === "dead",
      ExitCode: v.exitCode,
      Error: v.error ?? "",
      StartedAt: iso(v.startedAt),
      FinishedAt: iso(v.finishedAt),
    },
  };
}
