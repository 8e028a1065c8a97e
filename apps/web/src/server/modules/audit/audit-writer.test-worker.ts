/**
 * A writer process for the concurrency test: argv path key count id; its own connection. It says
 * "ready" over IPC once the database is open and writes when the parent answers "go".
 */
import { openDb } from "@berth/db";
import { AuditService } from "./audit.service";

const [path, key, count, worker] = process.argv.slice(2) as [string, string, string, string];
const db = openDb({ path });
const audit = new AuditService(db, { key: () => Buffer.from(key, "base64") });
const go = new Promise<void>((resolve) => process.once("message", () => resolve()));
process.send!("ready");
await go;
for (let i = 0; i < Number(count); i++)
  audit.record({
    actorId: null,
    actorName: `worker-${worker}`,
    teamId: null,
    action: "test.write",
    target: String(i),
    params: { i },
    result: "ok",
    error: null,
    address: null,
  });
db.$client.close();
process.disconnect();
