/**
 * bench/registry-push-pull: `skopeo copy` push (OCI layout → registry) and pull (registry → OCI
 * layout) of a ~100 MB, 4-layer gzip image against berth-server's registry (`/v2/`, the HTTP
 * app in this process over a file-backed db, with a Berth user's credentials and the Bearer
 * token flow) and against Debian's docker-registry (CNCF distribution 2.8, no auth: its best
 * case), in the same run. Each run builds a fresh image (new random layers) so no registry
 * serves a blob it already has and skopeo's blob-info cache cannot turn a push into a mount;
 * the two registries take turns, alternating which goes first. No root; needs skopeo and
 * docker-registry (scripts/setup.sh --test). The in-process server gets berth-server's V8 heap
 * settings (apps/web/src/server/gc-tuning.ts, as server.ts applies them); `--no-gc-tuning`
 * leaves V8's defaults, to see what they change. bench/registry-push-profile.ts breaks a push's
 * server CPU down further.
 *
 *   node --import tsx bench/registry-push-pull.ts [--runs 3] [--mb 100] [--no-gc-tuning]
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { startRegistry } from "../apps/node-agent/src/images/registry/test-helpers/registry-server";
import { SERVER_V8_FLAGS, tuneServerGc } from "../apps/web/src/server/gc-tuning";
import { median } from "./lib";
import { skopeo, startBerthRegistry } from "./registry-berth";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    mb: { type: "string", default: "100" },
    /** Leave V8's heap growing heuristics alone instead of applying server.ts's gc-tuning.ts. */
    "no-gc-tuning": { type: "boolean", default: false },
    /** Internal: build one image into DIR, print its gzip size and exit (see buildInChild). */
    "build-into": { type: "string" },
  },
});
const runs = Number(values.runs);
const mb = Number(values.mb);
const PASSWORD = "bench-password-1";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** An OCI layout with 4 layers of incompressible data (gzip ≈ mb in total). */
function buildImage(dir: string): number {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const layers: Buffer[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < 4; i++) {
    const src = join(dir, `src${i}`);
    mkdirSync(src);
    writeFileSync(join(src, `data${i}.bin`), randomBytes(Math.round((mb * 1024 * 1024) / 4)));
    const t = spawnSync("tar", ["-C", src, "-cf", "-", "."], { maxBuffer: 1024 ** 3 });
    if (t.status !== 0) throw new Error(`tar: ${t.stderr.toString()}`);
    rmSync(src, { recursive: true });
    diffIds.push(sha(t.stdout));
    layers.push(gzipSync(t.stdout, { level: 1 }));
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha(config),
        size: config.length,
      },
      layers: layers.map((l) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: sha(l),
        size: l.length,
      })),
    }),
  );
  for (const b of [...layers, config, manifest])
    writeFileSync(join(dir, "blobs", "sha256", sha(b).slice(7)), b);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sha(manifest),
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "1" },
        },
      ],
    }),
  );
  return layers.reduce((n, l) => n + l.length, 0);
}

/**
 * Builds an image in a child process. Built here, its ~300 MB of short-lived buffers upset V8's
 * external-memory heuristics for the rest of the process — the one Berth's registry runs in:
 * after such a burst a 100 MB PATCH from curl cost the server ~10 extra mark-compacts and 0.6 s
 * of CPU instead of 0.2 s. A harness artifact, not something a berth-server process sees.
 */
function buildInChild(dir: string): number {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "--build-into", dir, "--mb", String(mb)],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`image build failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

if (values["build-into"] !== undefined) {
  console.log(buildImage(values["build-into"]));
  process.exit(0);
}

// The in-process server runs with berth-server's V8 heap settings (server.ts applies them).
if (!values["no-gc-tuning"]) tuneServerGc();

const work = mkdtempSync(join(tmpdir(), "berth-bench-regpp-"));
const dist = await startRegistry();
const dataDir = join(work, "berth-data");
mkdirSync(dataDir);
const berth = await startBerthRegistry(dataDir, PASSWORD);
const berthHost = berth.host;

type Side = "berth" | "distribution";
const times: Record<Side, { push: number[]; pull: number[] }> = {
  berth: { push: [], pull: [] },
  distribution: { push: [], pull: [] },
};
/** Server CPU seconds (user + system) per operation: a figure the machine's load barely moves. */
const cpu: Record<Side, { push: number[]; pull: number[] }> = {
  berth: { push: [], pull: [] },
  distribution: { push: [], pull: [] },
};
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
/** CPU seconds used so far by the server of `side` (this process for berth: it only waits on skopeo). */
function cpuSeconds(side: Side): number {
  if (side === "berth") {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  const stat = readFileSync(`/proc/${dist.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS;
}
async function measured(side: Side, op: "push" | "pull", args: string[]) {
  const c0 = cpuSeconds(side);
  times[side][op].push(await skopeo(args));
  cpu[side][op].push(cpuSeconds(side) - c0);
}
let total = 0;
try {
  for (let r = 0; r < runs; r++) {
    const img = join(work, `img${r}`);
    total = buildInChild(img);
    const order: Side[] = r % 2 === 0 ? ["berth", "distribution"] : ["distribution", "berth"];
    for (const side of order) {
      const ref =
        side === "berth"
          ? `docker://${berthHost}/default/big${r}:1`
          : `docker://${dist.host}/bench/big${r}:1`;
      const creds = side === "berth" ? ["--dest-creds", `admin:${PASSWORD}`] : [];
      await measured(side, "push", [
        "copy",
        "--dest-tls-verify=false",
        ...creds,
        `oci:${img}:1`,
        ref,
      ]);
      const out = join(work, `out-${side}-${r}`);
      const src = side === "berth" ? ["--src-creds", `admin:${PASSWORD}`] : [];
      await measured(side, "pull", ["copy", "--src-tls-verify=false", ...src, ref, `oci:${out}:1`]);
      const want = (
        JSON.parse(readFileSync(join(img, "index.json"), "utf8")) as {
          manifests: { digest: string }[];
        }
      ).manifests[0]!.digest;
      const got = (
        JSON.parse(readFileSync(join(out, "index.json"), "utf8")) as {
          manifests: { digest: string }[];
        }
      ).manifests[0]!.digest;
      if (got !== want) throw new Error(`${side}: pulled manifest ${got}, pushed ${want}`);
      rmSync(out, { recursive: true, force: true });
    }
    rmSync(img, { recursive: true, force: true });
  }
  const mbs = (ms: number) => total / 1024 / 1024 / (ms / 1000);
  console.log(
    `image: 4 layers, ${(total / 1024 / 1024).toFixed(1)} MB gzip (fresh per run); ${runs} runs; skopeo copy, loopback`,
  );
  console.log(
    "berth: Bearer token flow with a Berth user (argon2 at most once a minute: credential cache); distribution: no auth",
  );
  console.log(
    `berth V8 heap settings: ${values["no-gc-tuning"] ? "V8 defaults (--no-gc-tuning)" : SERVER_V8_FLAGS.join(" ")}; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  for (const op of ["push", "pull"] as const) {
    for (const side of ["berth", "distribution"] as const) {
      const xs = times[side][op];
      console.log(
        `${op} ${side.padEnd(13)} median ${(median(xs) / 1000).toFixed(2)} s  (${mbs(median(xs)).toFixed(0)} MB/s)  runs: ${xs.map((x) => (x / 1000).toFixed(2)).join(" ")}`,
      );
    }
    const ratio = mbs(median(times.berth[op])) / mbs(median(times.distribution[op]));
    console.log(`${op} berth / distribution throughput: ${ratio.toFixed(2)}×`);
    console.log(
      `${op} server CPU (user+sys, median): berth ${median(cpu.berth[op]).toFixed(2)} s, distribution ${median(cpu.distribution[op]).toFixed(2)} s`,
    );
  }
} finally {
  await berth.close();
  await dist.stop();
  rmSync(work, { recursive: true, force: true });
}
