/**
 * bench/density: memory per idle container. Starts N (default 50) `sleep` containers through the
 * agent's engine (ContainerService, in-process, temp state dir) and prints, per container:
 * RSS and PSS of its conmon monitor and of its processes (/proc/<pid>/smaps_rollup), and the
 * container cgroup's memory.usage_in_bytes (v1) / memory.current (v2). Docker's figure is
 * measured beside it when a Docker engine with a local busybox image is present.
 *
 *   node --import tsx bench/density.ts [--count 50]        (root)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CommandSchemas, newContainerId } from "@berth/core";
import { ContainerService } from "../apps/node-agent/src/containers/container-service";
import { median, table } from "./lib";
import { detectDocker } from "./peers";

const { values } = parseArgs({ options: { count: { type: "string", default: "50" } } });
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 500) {
  console.error("density: --count must be an integer from 1 to 500");
  process.exit(2);
}

interface Mem {
  rssKb: number;
  pssKb: number;
}

/** RSS and PSS of one process, in kB; zero when it is gone. */
function smaps(pid: number): Mem {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, "m").exec(t)?.[1] ?? 0);
    return { rssKb: kb("Rss"), pssKb: kb("Pss") };
  } catch {
    return { rssKb: 0, pssKb: 0 };
  }
}

function ppid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised comm: state, ppid, …
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
}

/** Pids in a cgroup directory (v1 or v2: both have cgroup.procs). */
function procs(dir: string): number[] {
  return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
}

function cgroupMemoryBytes(paths: Record<string, string>): number {
  const v1 = paths.memory && join(paths.memory, "memory.usage_in_bytes");
  if (v1 && existsSync(v1)) return Number(readFileSync(v1, "utf8"));
  const v2 = paths[""] && join(paths[""], "memory.current");
  if (v2 && existsSync(v2)) return Number(readFileSync(v2, "utf8"));
  return NaN;
}

const mb = (kb: number) => (kb / 1024).toFixed(2);

async function berthDensity(): Promise<(string | number)[][]> {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-bench-density-"));
  const svc = await ContainerService.create({ stateDir });
  try {
    const params = Array.from({ length: count }, (_, i) =>
      CommandSchemas["container.run"].params.parse({
        containerId: newContainerId(),
        name: `density-${process.pid}-${i}`,
        spec: { image: "busybox", command: ["sleep", "100000"] },
      }),
    );
    const t0 = Date.now();
    for (const p of params) await svc.run(p);
    const startMs = Date.now() - t0;
    // Let the processes settle (page-ins of the first run, conmon's log buffers).
    await new Promise((r) => setTimeout(r, 2000));

    const conmon: Mem[] = [];
    const ctr: Mem[] = [];
    const cg: number[] = [];
    for (const p of params) {
      const st = svc.inspect(p.containerId);
      if (st.state !== "running" || !st.pid) throw new Error(`${p.name} is ${st.state}`);
      const mon = ppid(st.pid);
      if (comm(mon) !== "conmon") throw new Error(`${p.name}: parent ${mon} is ${comm(mon)}`);
      conmon.push(smaps(mon));
      const { paths } = await svc.readLimits(p.containerId);
      const dir = paths.pids ?? paths.memory ?? paths[""]!;
      const inside = procs(dir).map(smaps);
      ctr.push({
        rssKb: inside.reduce((a, m) => a + m.rssKb, 0),
        pssKb: inside.reduce((a, m) => a + m.pssKb, 0),
      });
      cg.push(cgroupMemoryBytes(paths) / 1024);
    }
    const sum = (xs: Mem[], k: keyof Mem) => xs.reduce((a, m) => a + m[k], 0) / xs.length;
    console.log(`berth: started ${count} containers in ${startMs} ms`);
    return [
      ["berth: conmon monitor", mb(sum(conmon, "rssKb")), mb(sum(conmon, "pssKb")), ""],
      ["berth: container processes", mb(sum(ctr, "rssKb")), mb(sum(ctr, "pssKb")), ""],
      [
        "berth: monitor + container",
        mb(sum(conmon, "rssKb") + sum(ctr, "rssKb")),
        mb(sum(conmon, "pssKb") + sum(ctr, "pssKb")),
        mb(median(cg)),
      ],
    ];
  } finally {
    await Promise.all(
      svc
        .list()
        .map((c) =>
          svc.remove(
            CommandSchemas["container.remove"].params.parse({ containerId: c.id, force: true }),
          ),
        ),
    );
    await svc.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Docker: the same N `sleep` containers; the shims' and the containers' RSS/PSS. */
function dockerDensity(bin: string): (string | number)[][] {
  const names = Array.from({ length: count }, (_, i) => `berth-density-${process.pid}-${i}`);
  const sh = (args: string[]) => {
    const r = spawnSync(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")}: ${r.stderr.toString()}`);
    return r.stdout.toString().trim();
  };
  try {
    for (const n of names)
      sh(["run", "-d", "--network", "none", "--name", n, "busybox", "sleep", "100000"]);
    const shim: Mem[] = [];
    const ctr: Mem[] = [];
    for (const n of names) {
      const pid = Number(sh(["inspect", "-f", "{{.State.Pid}}", n]));
      shim.push(smaps(ppid(pid)));
      ctr.push(smaps(pid));
    }
    const avg = (xs: Mem[], k: keyof Mem) => xs.reduce((a, m) => a + m[k], 0) / xs.length;
    return [
      ["docker: containerd-shim", mb(avg(shim, "rssKb")), mb(avg(shim, "pssKb")), ""],
      ["docker: container processes", mb(avg(ctr, "rssKb")), mb(avg(ctr, "pssKb")), ""],
    ];
  } finally {
    spawnSync(bin, ["rm", "-f", ...names], { stdio: "ignore" });
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root");
  console.log(`density: ${count} idle busybox \`sleep\` containers; figures are MiB per container`);
  const rows: (string | number)[][] = [["what", "RSS MiB", "PSS MiB", "cgroup memory MiB"]];
  rows.push(...(await berthDensity()));
  const docker = detectDocker();
  if (!docker.skip) rows.push(...dockerDensity(docker.bin));
  console.log(table(rows));
  if (docker.skip) console.log(`docker: skipped: ${docker.skip}`);
}

main().catch((e: unknown) => {
  console.error(`density: ${(e as Error).message}`);
  process.exit(1);
});
