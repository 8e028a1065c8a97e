/**
 * Restart policies, decided by the agent (so they hold while the server is unreachable), with
 * docker's semantics:
 *   no              never restart
 *   on-failure[:N]  restart after a non-zero exit, at most N times (0 = no limit)
 *   always          restart after any exit, and when the agent starts
 *   unless-stopped  like always, except after a user stop (also across agent restarts)
 * A user `stop` never restarts a container. Restarts back off exponentially: 100 ms, doubling,
 * at most 1 min; the delay resets once a container ran for at least 10 s.
 */
import type { RestartPolicy } from "@berth/core";

export const BACKOFF_INITIAL_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** A run at least this long resets the backoff. */
export const BACKOFF_RESET_AFTER_MS = 10_000;

export interface RestartInput {
  policy: RestartPolicy;
  /** null when the exit code is unknown (the monitor died). */
  exitCode: number | null;
  /** Restarts done so far. */
  restartCount: number;
  /** The user stopped it (`stop`, or a kill through the API). */
  userStopped: boolean;
  /** `exit`: the container just exited; `agent-start`: the agent found it exited at start. */
  trigger: "exit" | "agent-start";
}

/** Whether the container is restarted under its policy. */
export function shouldRestart(i: RestartInput): boolean {
  switch (i.policy.name) {
    case "no":
      return false;
    case "on-failure":
      // Docker does not restart on-failure containers when its daemon starts.
      if (i.trigger !== "exit" || i.userStopped) return false;
      if (i.exitCode === 0) return false;
      return i.policy.maximumRetryCount === 0 || i.restartCount < i.policy.maximumRetryCount;
    case "always":
      // A user stop holds until the agent restarts; then `always` starts it again, as docker does.
      return i.trigger === "agent-start" || !i.userStopped;
    case "unless-stopped":
      return !i.userStopped;
  }
}

/**
 * The delay before the next restart, given the previous delay (0 for none yet) and how long the
 * container ran this time.
 */
export function nextBackoffMs(previousMs: number, ranMs: number): number {
  if (ranMs >= BACKOFF_RESET_AFTER_MS || previousMs <= 0) return BACKOFF_INITIAL_MS;
  return Math.min(previousMs * 2, BACKOFF_MAX_MS);
}
