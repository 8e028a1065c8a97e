/**
 * bench/start-latency: how long `berth run --rm busybox true` takes end to end (CLI → server →
 * agent → runc → exit code back to the CLI), next to raw `runc run` of an equivalent bundle
 * (same busybox rootfs, same `true`), measured alternately in the same run.
 *
 *   node --import tsx bench/start-latency.ts [--runs 20]        (root; builds must exist)
 */
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median, percentile, root, startStack, table, timeCommand } from "./lib";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "20" }, port: { type: "string", default: "18091" } },
});
const runs = Number(values.runs);

function findBusyboxRootfs(agentDir: string): string {
  const snaps = join(agentDir, "images/snapshots");
  for (const d of readdirSync(snaps)) {
    const fs = join(snaps, d, "fs");
    if (existsSync(join(fs, "bin/busybox"))) return fs;
  }
  throw new Error(`no busybox snapshot under ${snaps}`);
}

function rawRuncBundle(rootfs: string): { bundle: string; runcRoot: string } {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-runc-"));
  const bundle = join(dir, "bundle");
  mkdirSync(bundle);
  execFileSync("runc", ["spec", "--bundle", bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["true"];
  spec.root = { path: rootfs, readonly: true };
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  return { bundle, runcRoot: join(dir, "runc") };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root");
  const runcVersion = execFileSync("runc", ["--version"]).toString().split("\n")[0];
  console.log(`start-latency: ${runs} runs each, ${runcVersion}`);
  const stack = await startStack(Number(values.port));
  try {
    const cli = [process.execPath, join(root, "apps/cli/bin/berth.mjs")];
    // warm: the image is seeded and caches are hot for both sides
    timeCommand([...cli, "run", "--rm", "busybox", "true"], stack.cliEnv);
    const { bundle, runcRoot } = rawRuncBundle(findBusyboxRootfs(stack.agentDir));
    const berth: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < runs; i++) {
      raw.push(
        timeCommand([
          "runc",
          "--root",
          runcRoot,
          "run",
          "--bundle",
          bundle,
          `bench-${process.pid}-${i}`,
        ]),
      );
      berth.push(timeCommand([...cli, "run", "--rm", "busybox", "true"], stack.cliEnv));
    }
    rmSync(join(bundle, ".."), { recursive: true, force: true });
    const rows: (string | number)[][] = [["what", "median ms", "p90 ms", "min ms"]];
    rows.push([
      "runc run (raw)",
      median(raw).toFixed(1),
      percentile(raw, 90).toFixed(1),
      Math.min(...raw).toFixed(1),
    ]);
    rows.push([
      "berth run --rm (end to end)",
      median(berth).toFixed(1),
      percentile(berth, 90).toFixed(1),
      Math.min(...berth).toFixed(1),
    ]);
    console.log(table(rows));
    console.log(`ratio berth/runc (medians): ${(median(berth) / median(raw)).toFixed(2)}x`);
  } finally {
    await stack.stop();
  }
}

main().catch((e: unknown) => {
  console.error(`start-latency: ${(e as Error).message}`);
  process.exit(1);
});
