/** bench/fleet: the messages between the parent, the server child and the agent workers. */

export const BENCH_SERVER_ID = "benchfleetserver00000000aa";

export interface BenchNode {
  id: string;
  name: string;
  secret: string;
}

export type ToServer =
  { type: "count" } | { type: "drive"; count: number; ratePerSecond: number } | { type: "stop" };

export type FromServer =
  | { type: "listening"; port: number }
  | { type: "count"; connected: number }
  | {
      type: "driven";
      rttsMs: number[];
      failures: number;
      seconds: number;
      /** p99 of the server's event-loop delay while it drove the commands. */
      loopDelayP99Ms: number;
    };

export type ToAgents = { type: "stop" };

export type FromAgents =
  | { type: "connected"; agents: number; failed: number; seconds: number }
  | { type: "stats"; heartbeats: number; commands: number; closed: number };
