/**
 * Log throughput: a container prints N lines (1,000,000 by default) and exits; then we time how
 * long `berth logs <name>` (CLI → server → agent, which reads the log files) takes to hand all of
 * them to a reader, versus `docker logs <name>` on the same output when the private dockerd of
 * bench/peers-setup.sh runs. Every run checks the line count. Prints wall time, lines/s and MB/s
 * (bytes of output without timestamps, as both print them).
 *
 *   node --import tsx bench/logs.ts [--lines 1000000] [--width 0] [--runs 3] [--port 18097]
 *
 * `--width 0` prints `seq 1 N` (≈ 6.9 bytes a line); `--width W` pads each line to W bytes.
 * Root, with the agent and CLI built (npm run build -w @berth/node-agent -w @berth/cli) and the
 * dashboard built once (scripts/launch.ts wants apps/web/.next).
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median, root, startStack, table } from "./lib";
import { detectDocker } from "./peers";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "1000000" },
    width: { type: "string", default: "0" },
    runs: { type: "string", default: "3" },
    port: { type: "string", default: "18097" },
  },
});
const LINES = Number(values.lines);
const WIDTH = Number(values.width);
const RUNS = Number(values.runs);

/** The container's command: N unique lines, optionally padded to WIDTH bytes. */
function printer(): string[] {
  if (WIDTH <= 0) return ["seq", "1", String(LINES)];
  const pad = "x".repeat(Math.max(0, WIDTH - 9));
  return ["awk", `BEGIN { for (i = 1; i <= ${LINES}; i++) printf "%08d ${pad}\\n", i }`];
}

function expectedBytes(): number {
  if (WIDTH > 0) return LINES * WIDTH;
  let b = 0;
  for (let d = 1, lo = 1; lo <= LINES; d++, lo *= 10) {
    const hi = Math.min(LINES, lo * 10 - 1);
    b += (hi - lo + 1) * (d + 1);
  }
  return b;
}

/** Runs argv, counts the lines and bytes of its stdout; the wall time in ms. */
function timedRead(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; lines: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let lines = 0;
    let bytes = 0;
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      bytes += b.length;
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0)
        reject(new Error(`${argv.join(" ")} failed (${code}): ${err.slice(0, 2000)}`));
      else resolve({ ms, lines, bytes });
    });
  });
}

function run(argv: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { env: env ?? process.env, encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`${argv.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

async function measure(
  label: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<(string | number)[]> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await timedRead(argv, env);
    if (r.lines !== LINES) throw new Error(`${label}: got ${r.lines} lines, expected ${LINES}`);
    bytes = r.bytes;
    times.push(r.ms);
  }
  const ms = median(times);
  return [
    label,
    ms.toFixed(0),
    Math.round((LINES / ms) * 1000).toLocaleString("en"),
    ((bytes / 1e6 / ms) * 1000).toFixed(1),
    times.map((t) => t.toFixed(0)).join(" "),
  ];
}

async function main() {
  const berth = [process.execPath, join(root, "apps/cli/bin/berth.mjs")];
  const cmd = printer();
  console.log(
    `logs bench: ${LINES.toLocaleString("en")} lines, ≈${(expectedBytes() / 1e6).toFixed(1)} MB of output (${WIDTH > 0 ? `${WIDTH} bytes a line` : "seq"}), median of ${RUNS} reads`,
  );
  const rows: (string | number)[][] = [["reader", "ms", "lines/s", "MB/s", "runs (ms)"]];
  const stack = await startStack(Number(values.port));
  let berthMBps = 0;
  try {
    const name = `bench-logs-${Date.now().toString(36)}`;
    run([...berth, "run", "-d", "--name", name, "busybox", ...cmd], stack.cliEnv);
    run([...berth, "wait", name], stack.cliEnv);
    // The exit can be recorded a moment before the monitor wrote the last bytes: wait for them.
    const last = WIDTH > 0 ? new RegExp(`^0*${LINES} `) : new RegExp(`^${LINES}$`);
    for (let i = 0; i < 100; i++) {
      if (last.test(run([...berth, "logs", "--tail", "1", name], stack.cliEnv).trim())) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const row = await measure("berth logs", [...berth, "logs", name], stack.cliEnv);
    berthMBps = Number(row[3]);
    rows.push(row);
    run([...berth, "rm", name], stack.cliEnv);
  } finally {
    await stack.stop();
  }
  const docker = detectDocker();
  if (docker.skip) {
    console.log(`docker skipped: ${docker.skip}`);
  } else {
    const name = `bench-logs-${Date.now().toString(36)}`;
    run([...docker.cmd, "run", "-d", "--name", name, ...docker.runFlags, "busybox", ...cmd]);
    try {
      run([...docker.cmd, "wait", name]);
      const row = await measure("docker logs", [...docker.cmd, "logs", name], process.env);
      rows.push(row);
      const ratio = berthMBps / Number(row[3]);
      console.log(`berth/docker throughput: ${ratio.toFixed(1)}×`);
    } finally {
      run([...docker.cmd, "rm", "-f", name]);
    }
  }
  console.log(table(rows));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
