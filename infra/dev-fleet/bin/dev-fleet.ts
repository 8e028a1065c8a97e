/**
 * The dev fleet's command line (run as root):
 *   node --import tsx infra/dev-fleet/bin/dev-fleet.ts up --hosts 3 [--prefix bfl] [--server-url URL]
 *        [--join-token TOKEN]… [--run-root DIR]
 *   node --import tsx infra/dev-fleet/bin/dev-fleet.ts net [--prefix bfl]   (the bridge alone)
 *   node --import tsx infra/dev-fleet/bin/dev-fleet.ts down [--prefix bfl] [--run-root DIR]
 *   node --import tsx infra/dev-fleet/bin/dev-fleet.ts status [--prefix bfl] [--run-root DIR]
 * `up` prints the hosts as JSON. Join tokens: one `--join-token` per host, else each is made with
 * `berth join-token create` (the CLI's saved login, or BERTH_SERVER/BERTH_TOKEN). The server must
 * listen on the fleet's server address: `net` makes the bridge first and prints that address
 * (start the server with BERTH_HOST=<it>, then `up` reuses the bridge); --server-url defaults
 * to http://<server address>:<BERTH_PORT or 8080>.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { z } from "zod";
import { createFleet, createFleetNetwork, destroyFleet, readState } from "../src/fleet";
import { run } from "../src/exec";
import { DEFAULT_PREFIX, DEFAULT_RUN_ROOT } from "../src/names";

const USAGE = `usage: dev-fleet up --hosts N [--prefix P] [--server-url URL] [--join-token T]... [--run-root DIR]
       dev-fleet net [--prefix P] [--run-root DIR]
       dev-fleet down [--prefix P] [--run-root DIR]
       dev-fleet status [--prefix P] [--run-root DIR]`;

const cliPath = join(import.meta.dirname, "../../../apps/cli/bin/berth.mjs");

async function tokenFromCli(): Promise<string> {
  const r = await run([process.execPath, cliPath, "join-token", "create", "--json"]);
  return z.object({ token: z.string().min(10) }).parse(JSON.parse(r.stdout)).token;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      hosts: { type: "string" },
      prefix: { type: "string", default: DEFAULT_PREFIX },
      "server-url": { type: "string" },
      "join-token": { type: "string", multiple: true },
      "run-root": { type: "string", default: DEFAULT_RUN_ROOT },
    },
  });
  const prefix = values.prefix;
  const runRoot = values["run-root"];
  if (cmd === "up") {
    if (values.hosts === undefined) throw new Error(`up needs --hosts N\n${USAGE}`);
    const given = [...(values["join-token"] ?? [])];
    const port = process.env.BERTH_PORT ?? "8080";
    const fleet = await createFleet({
      hosts: Number(values.hosts),
      prefix,
      runRoot,
      serverUrl: values["server-url"] ?? ((addr) => `http://${addr}:${port}`),
      joinToken: async () => given.shift() ?? (await tokenFromCli()),
    });
    const { destroy: _destroy, ...shown } = fleet;
    process.stdout.write(JSON.stringify(shown, null, 2) + "\n");
    return 0;
  }
  if (cmd === "net") {
    const net = await createFleetNetwork(prefix, runRoot);
    process.stdout.write(JSON.stringify(net, null, 2) + "\n");
    return 0;
  }
  if (cmd === "down") {
    const report = await destroyFleet(prefix, runRoot);
    process.stdout.write(JSON.stringify({ prefix, ...report }, null, 2) + "\n");
    return 0;
  }
  if (cmd === "status") {
    const s = readState(prefix, runRoot);
    process.stdout.write(JSON.stringify(s ?? { prefix, up: false }, null, 2) + "\n");
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const msg =
      e instanceof z.ZodError ? (e.issues[0]?.message ?? e.message) : (e as Error).message;
    process.stderr.write(`dev-fleet: ${msg}\n`);
    process.exit(
      e instanceof z.ZodError || String((e as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")
        ? 2
        : 1,
    );
  },
);
