/** `/api/health`: is the database answering, how many agents are connected. */
import { sql, type Db } from "@berth/db";

export interface Health {
  status: "ok" | "degraded";
  version: string;
  db: "ok" | "error";
  agentsConnected: number;
  uptimeSeconds: number;
}

export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly db: Db,
    private readonly agentsConnected: () => number,
    private readonly version: string,
  ) {}

  check(): Health {
    let dbOk = true;
    try {
      this.db.get(sql`select 1`);
    } catch {
      dbOk = false;
    }
    return {
      status: dbOk ? "ok" : "degraded",
      version: this.version,
      db: dbOk ? "ok" : "error",
      agentsConnected: this.agentsConnected(),
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }
}
