/**
 * bench/registry-push-profile: where berth-server's registry spends CPU on a `skopeo copy` push.
 * Same server stack as bench/registry-push-pull.ts (the HTTP app in this process over a
 * file-backed db, a Berth user through the Bearer token flow, server.ts's V8 heap settings from
 * gc-tuning.ts unless `--no-gc-tuning`), fresh ~100 MB 4-layer images built in child
 * processes, each pushed to distribution and then to Berth. Per push it prints the server's CPU
 * split into the main thread (JS, HTTP parser, sha256) and the other threads (libuv's file
 * writes, V8's concurrent marking and compiler; also per thread, as `tid+N` = offset from the
 * main thread's id), the GCs V8 ran (count and total pause by kind), and the request bodies as
 * they reached the handler (PATCH/PUT count, chunked or not, `data` chunks, average chunk
 * size). Distribution's CPU is its process's. No root; needs skopeo and docker-registry.
 *
 *   node --import tsx bench/registry-push-profile.ts [--pushes 3] [--mb 100] [--no-gc-tuning]
 *       [--timeline]          every Berth request of a push: start, duration, method, status, path
 *       [--perf /tmp/p/push]  `perf record -g` of this process during each Berth push (push.<n>;
 *                             run node with --perf-basic-prof to name JS frames)
 *   node --trace-gc --import tsx bench/registry-push-profile.ts      (or --trace-opt, --cpu-prof …)
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver, constants as perfConstants } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRegistry } from "../apps/node-agent/src/images/registry/test-helpers/registry-server";
import { tuneServerGc } from "../apps/web/src/server/gc-tuning";
import { median } from "./lib";
import { skopeo, startBerthRegistry } from "./registry-berth";

const { values } = parseArgs({
  options: {
    pushes: { type: "string", default: "3" },
    mb: { type: "string", default: "100" },
    /** `perf record -g` this process during each Berth push into <prefix>.<n> (needs perf). */
    perf: { type: "string" },
    /** Print each Berth request of a push: start, duration, method, path. */
    timeline: { type: "boolean", default: false },
    /** Leave V8's heap growing heuristics alone (server.ts applies gc-tuning.ts). */
    "no-gc-tuning": { type: "boolean", default: false },
  },
});
const pushes = Number(values.pushes);
const mb = Number(values.mb);
const PASSWORD = "bench-password-1";
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const pushPull = fileURLToPath(new URL("./registry-push-pull.ts", import.meta.url));

/** Builds an image with registry-push-pull.ts's builder, in a child process (see there why). */
function build(dir: string): number {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", pushPull, "--build-into", dir, "--mb", String(mb)],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`image build failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** CPU seconds (user+sys) of one /proc stat line. */
function statCpu(path: string): number {
  try {
    const s = readFileSync(path, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
}
/** This process's CPU per thread: main thread, all the others, and by thread name. */
function threadCpu(): { main: number; others: number; byName: Map<string, number> } {
  let others = 0;
  const byName = new Map<string, number>();
  for (const t of readdirSync("/proc/self/task")) {
    const c = statCpu(`/proc/self/task/${t}/stat`);
    const name = `tid+${Number(t) - process.pid}`;
    byName.set(name, (byName.get(name) ?? 0) + c);
    if (Number(t) !== process.pid) others += c;
  }
  return { main: statCpu(`/proc/self/task/${process.pid}/stat`), others, byName };
}

// GCs, by kind.
const gcKinds: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: "scavenge",
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: "mark-compact",
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};
let gcs: Record<string, { n: number; ms: number }> = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = gcKinds[(e as unknown as { detail: { kind: number } }).detail.kind] ?? "other";
    const g = (gcs[kind] ??= { n: 0, ms: 0 });
    g.n++;
    g.ms += e.duration;
  }
}).observe({ entryTypes: ["gc"] });

// Request bodies as the handler sees them (IncomingMessage.push is what the parser calls).
const bodies = { n: 0, chunked: 0, chunks: 0, bytes: 0 };
const origPush = IncomingMessage.prototype.push;
IncomingMessage.prototype.push = function (this: IncomingMessage, chunk: unknown, enc?: unknown) {
  if (Buffer.isBuffer(chunk)) {
    bodies.chunks++;
    bodies.bytes += chunk.length;
  }
  return origPush.call(this, chunk, enc as BufferEncoding);
};

// As server.ts does at start (unless asked not to, to see the difference).
if (!values["no-gc-tuning"]) tuneServerGc();

const work = mkdtempSync(join(tmpdir(), "berth-bench-regprof-"));
const dist = await startRegistry();
const dataDir = join(work, "berth-data");
mkdirSync(dataDir);
let pushStart = 0;
const timeline: string[] = [];
const berth = await startBerthRegistry(dataDir, PASSWORD, (req, res) => {
  if (values.timeline) {
    const t0 = performance.now();
    res.once("finish", () =>
      timeline.push(
        `    ${(t0 - pushStart).toFixed(0).padStart(5)} ms +${(performance.now() - t0).toFixed(0).padStart(4)} ms ${req.method} ${res.statusCode} ${(req.url ?? "").replace(/\?.*/, "").slice(0, 70)} ${req.headers["content-length"] ?? ""}`,
      ),
    );
  }
  if (req.method === "PATCH" || req.method === "PUT") {
    bodies.n++;
    if (req.headers["transfer-encoding"]) bodies.chunked++;
  }
});
const berthHost = berth.host;

const rows: {
  berth: number;
  main: number;
  others: number;
  dist: number;
  bs: number;
  ds: number;
}[] = [];
try {
  console.log(
    `uptime: ${readFileSync("/proc/loadavg", "utf8").trim()}; gc tuning ${values["no-gc-tuning"] ? "off" : "on"}`,
  );
  for (let i = 0; i < pushes; i++) {
    const img = join(work, `img${i}`);
    const total = build(img);
    // distribution first (the harness is idle meanwhile), then Berth.
    const d0 = statCpu(`/proc/${dist.pid}/stat`);
    const dt = await skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${img}:1`,
      `docker://${dist.host}/bench/p${i}:1`,
    ]);
    const dcpu = statCpu(`/proc/${dist.pid}/stat`) - d0;
    gcs = {};
    Object.assign(bodies, { n: 0, chunked: 0, chunks: 0, bytes: 0 });
    const perf =
      values.perf === undefined
        ? null
        : spawn(
            "perf",
            [
              "record",
              "-q",
              "-F",
              "1999",
              "-g",
              "-p",
              String(process.pid),
              "-o",
              `${values.perf}.${i}`,
            ],
            { stdio: "inherit" },
          );
    if (perf) await new Promise((r) => setTimeout(r, 300));
    timeline.length = 0;
    pushStart = performance.now();
    const t0 = threadCpu();
    const bt = await skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      `admin:${PASSWORD}`,
      `oci:${img}:1`,
      `docker://${berthHost}/default/p${i}:1`,
    ]);
    const t1 = threadCpu();
    if (perf) {
      perf.kill("SIGINT");
      await new Promise((r) => perf.once("exit", r));
    }
    const main = t1.main - t0.main;
    const names = [...t1.byName]
      .map(([k, v]) => [k, v - (t0.byName.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(", ");
    const others = t1.others - t0.others;
    rows.push({ berth: main + others, main, others, dist: dcpu, bs: bt / 1000, ds: dt / 1000 });
    const gcText = Object.entries(gcs)
      .map(([k, g]) => `${k} ${g.n}× ${g.ms.toFixed(0)} ms`)
      .join(", ");
    console.log(
      `push ${i}: ${(total / 1048576).toFixed(0)} MB; berth ${(bt / 1000).toFixed(2)} s, CPU ${(main + others).toFixed(2)} s ` +
        `(main ${main.toFixed(2)}, other threads ${others.toFixed(2)}); distribution ${(dt / 1000).toFixed(2)} s, CPU ${dcpu.toFixed(2)} s`,
    );
    console.log(
      `  berth bodies: ${bodies.n} PATCH/PUT (${bodies.chunked} chunked), ${bodies.chunks} chunks, ` +
        `avg ${(bodies.bytes / Math.max(1, bodies.chunks) / 1024).toFixed(1)} KiB; GC: ${gcText || "none"}`,
    );
    console.log(`  threads: ${names}`);
    if (values.timeline) console.log(timeline.join("\n"));
    rmSync(img, { recursive: true, force: true });
  }
  const m = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f)).toFixed(2);
  console.log(
    `median: berth ${m((r) => r.bs)} s CPU ${m((r) => r.berth)} s (main ${m((r) => r.main)}, others ${m((r) => r.others)}); ` +
      `distribution ${m((r) => r.ds)} s CPU ${m((r) => r.dist)} s`,
  );
  console.log(`uptime: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
} finally {
  await berth.close();
  await dist.stop();
  rmSync(work, { recursive: true, force: true });
}
