/**
 * bench/density: memory per idle container. Starts N (default 50) `sleep` containers through the
 * agent's engine (ContainerService, in-process, temp state dir) and prints, per container:
 * RSS and PSS of its conmon monitor and of its processes (/proc/<pid>/smaps_rollup), and the
 * container cgroup's memory.usage_in_bytes (v1) / memory.current (v2). The peers set up by
 * bench/peers-setup.sh are measured the same way with the same N `sleep` containers: Docker's
 * per-container containerd-shim + the container's processes, Podman's conmon + the container's
 * processes, and the container cgroup's memory (else skipped with the reason). Every side runs
 * without a network (a private netns with only lo).
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
import { detectDocker, detectPodman, NETWORK_NOTE, type Peer } from "./peers";

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

/** The cgroup directories of a process, keyed like readLimits' paths ("" for cgroup v2). */
function cgroupPathsOf(pid: number): Record<string, string> {
  const mounts = new Map<string, string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (dash < 0) continue;
    const [fstype, , superOpts] = f.slice(dash + 1);
    if (fstype === "cgroup2") mounts.set("", f[4]!);
    else if (fstype === "cgroup")
      for (const o of superOpts!.split(",")) if (o !== "rw" && o !== "ro") mounts.set(o, f[4]!);
  }
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").filter(Boolean)) {
    const [, ctrls, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (ctrls === undefined || path === undefined) continue;
    for (const c of ctrls === "" ? [""] : ctrls.split(",")) {
      const m = mounts.get(c);
      if (m) out[c] = join(m, path);
    }
  }
  return out;
}

/** A peer: the same N `sleep` containers; its per-container monitor's and processes' RSS/PSS. */
function peerDensity(peer: Peer): (string | number)[][] {
  const names = Array.from({ length: count }, (_, i) => `berth-density-${process.pid}-${i}`);
  const sh = (args: string[]) => {
    const r = spawnSync(peer.cmd[0]!, [...peer.cmd.slice(1), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (r.status !== 0) throw new Error(`${peer.name} ${args.join(" ")}: ${r.stderr.toString()}`);
    return r.stdout.toString().trim();
  };
  try {
    const t0 = Date.now();
    for (const n of names)
      sh(["run", "-d", ...peer.runFlags, "--name", n, "busybox", "sleep", "100000"]);
    const startMs = Date.now() - t0;
    spawnSync("sleep", ["2"]); // settle, as for Berth
    const mon: Mem[] = [];
    const ctr: Mem[] = [];
    const cg: number[] = [];
    for (const n of names) {
      const pid = Number(sh(["inspect", "-f", "{{.State.Pid}}", n]));
      const parent = ppid(pid);
      if (comm(parent) !== peer.monitor)
        throw new Error(
          `${peer.name} ${n}: parent ${parent} is ${comm(parent)}, not ${peer.monitor}`,
        );
      mon.push(smaps(parent));
      const paths = cgroupPathsOf(pid);
      const inside = procs(paths.pids ?? paths.memory ?? paths[""]!).map(smaps);
      ctr.push({
        rssKb: inside.reduce((a, m) => a + m.rssKb, 0),
        pssKb: inside.reduce((a, m) => a + m.pssKb, 0),
      });
      cg.push(cgroupMemoryBytes(paths) / 1024);
    }
    console.log(`${peer.name}: started ${count} containers in ${startMs} ms`);
    const avg = (xs: Mem[], k: keyof Mem) => xs.reduce((a, m) => a + m[k], 0) / xs.length;
    const p = peer.name;
    return [
      [`${p}: ${peer.monitor} monitor`, mb(avg(mon, "rssKb")), mb(avg(mon, "pssKb")), ""],
      [`${p}: container processes`, mb(avg(ctr, "rssKb")), mb(avg(ctr, "pssKb")), ""],
      [
        `${p}: monitor + container`,
        mb(avg(mon, "rssKb") + avg(ctr, "rssKb")),
        mb(avg(mon, "pssKb") + avg(ctr, "pssKb")),
        mb(median(cg)),
      ],
    ];
  } finally {
    spawnSync(peer.cmd[0]!, [...peer.cmd.slice(1), "rm", "-f", ...peer.rmFlags, ...names], {
      stdio: "ignore",
    });
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root");
  console.log(`density: ${count} idle busybox \`sleep\` containers; figures are MiB per container`);
  console.log(NETWORK_NOTE);
  const rows: (string | number)[][] = [["what", "RSS MiB", "PSS MiB", "cgroup memory MiB"]];
  rows.push(...(await berthDensity()));
  const peers = [detectDocker(), detectPodman()];
  // One engine's containers at a time: each side's figures are its own, not a mix.
  for (const p of peers) if (!p.skip) rows.push(...peerDensity(p));
  console.log(table(rows));
  console.log(
    "RSS counts shared pages in full for every process; PSS splits them among the sharers. " +
      "cgroup memory: median of the containers' memory cgroups (page cache charged to them included).",
  );
  for (const p of peers) if (p.skip) console.log(`${p.name}: skipped: ${p.skip}`);
}

main().catch((e: unknown) => {
  console.error(`density: ${(e as Error).message}`);
  process.exit(1);
});
