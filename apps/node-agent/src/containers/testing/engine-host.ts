/**
 * Test fixture: a separate process that hosts a ContainerService (the agent's engine) so a test
 * can SIGKILL it like a crashed agent. Usage: `node --import tsx engine-host.ts <stateDir>`, then
 * one JSON array of container.run params on stdin; it answers with one JSON line
 * `{"statuses": [...]}` (or `{"error": "..."}`) and idles until killed.
 */
import { CommandSchemas } from "@berth/core";
import { z } from "zod";
import { ContainerService } from "../container-service";

const ArgsSchema = z.tuple([
  z.string().startsWith("/", "stateDir must be an absolute path"),
  /** Optional: a network prefix (networking on, test-only prefix). */
  z
    .string()
    .regex(/^[a-z]{2,8}$/)
    .optional(),
]);
const RunsSchema = z.array(CommandSchemas["container.run"].params).min(1).max(200);
/** The run params, or `{networks, runs}`: user-defined networks created first. */
const InputSchema = z.union([
  RunsSchema,
  z.object({
    networks: z.array(z.object({ name: z.string(), teamId: z.string().nullable() })).max(16),
    runs: RunsSchema,
  }),
]);

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<void> {
  const [stateDir, prefix] = ArgsSchema.parse(process.argv.slice(2));
  const input = InputSchema.parse(JSON.parse(await readStdin()));
  const svc = await ContainerService.create({
    stateDir,
    ...(prefix ? { network: { prefix } } : {}),
  });
  const params = Array.isArray(input) ? input : input.runs;
  if (!Array.isArray(input))
    for (const n of input.networks)
      await svc.networking().createNetwork({ ...n, masquerade: false });
  const statuses = await Promise.all(params.map((p) => svc.run(p)));
  process.stdout.write(JSON.stringify({ statuses }) + "\n");
  // Idle: the test kills this process with SIGKILL, by pid.
  setInterval(() => undefined, 60_000);
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ error: (e as Error).message ?? String(e) }) + "\n");
  process.exit(1);
});
