/** A writer process for the concurrency test: argv path key count id startAt; its own connection. */
import { openDb } from "@berth/db";
import { AuditService } from "./audit.service";

const [path, key, count, worker, startAt] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const db = openDb({ path });
const audit = new AuditService(db, { key: () => Buffer.from(key, "base64") });
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 5));
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
