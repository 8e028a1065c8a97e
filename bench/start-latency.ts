/**
 * bench/start-latency: how long `berth run --rm busybox true` takes end to end (CLI → server →
 * agent → runc → exit code back to the CLI), next to raw `runc run` of an equivalent bundle
 * (same busybox rootfs, same `true`), measured alternately in the same run. Also: the agent's
 * engine alone (ContainerService run → exit of `true`, in-process, no server or CLI), and
 * `docker run --rm --network none` / `podman run --rm --network none` of the same `true` when
 * bench/peers-setup.sh has set them up (else skipped with the reason). Raw runc, Berth and the
 * peers are measured in turn within each round; every side runs without a network (a private
 * netns with only lo). Raw runc runs twice: a default `runc spec` bundle, and the exact OCI config
 * the agent writes (seccomp allowlist, capabilities, cgroup namespace…), so the engine's own
 * overhead shows apart from what the hardened config costs runc itself. Last, the engine with
 * networking on (a bench-only prefix): `true` on the default bridge vs `--network none`,
 * alternating, and their ratio (Docker pays 1.12x here, Podman 1.67x; the target is ≤ 1.2x).
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
import { CommandSchemas, newContainerId } from "@berth/core";
import { ContainerService } from "../apps/node-agent/src/containers/container-service";
import { cleanupAll } from "../apps/node-agent/src/network/cleanup";
import { median, percentile, root, startStack, table, timeCommand } from "./lib";
import { detectDocker, detectPodman, NETWORK_NOTE } from "./peers";

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
  // Relative: runc nests it under this process's own cgroup, never at a hierarchy's root.
  spec.linux.cgroupsPath = `berth-bench-raw-${process.pid}`;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  return { bundle, runcRoot: join(dir, "runc") };
}

/**
 * A bundle holding exactly the OCI config the agent writes for `busybox true` (Berth's seccomp
 * profile, capabilities, masked paths, cgroup namespace…) on a created container's mounted rootfs,
 * so `runc run` of it measures the runtime with the same work to do, and the rest is the engine's.
 */
async function berthSpecBundle(
  svc: ContainerService,
): Promise<{ bundle: string; runcRoot: string; containerId: string }> {
  const containerId = newContainerId();
  await svc.create(
    CommandSchemas["container.create"].params.parse({
      containerId,
      name: `bench-spec-${process.pid}`,
      spec: { image: "busybox", command: ["true"] },
    }),
  );
  const paths = svc.pathsOf(containerId);
  const spec = JSON.parse(readFileSync(paths.config, "utf8"));
  spec.root.path = paths.rootfs;
  spec.linux.cgroupsPath = `berth-bench-rawspec-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-runc-spec-"));
  mkdirSync(join(dir, "bundle"));
  writeFileSync(join(dir, "bundle/config.json"), JSON.stringify(spec));
  return { bundle: join(dir, "bundle"), runcRoot: join(dir, "runc"), containerId };
}

/**
 * The agent's engine alone: ContainerService.run of `true` until its exit is recorded; each run
 * alternates with `runc run` of the same OCI config (berthSpecBundle).
 */
async function engineLocal(n: number): Promise<{ engine: number[]; rawSameSpec: number[] }> {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-bench-engine-"));
  const svc = await ContainerService.create({ stateDir });
  const exited = new Map<string, () => void>();
  const off = svc.onEvent((name, data) => {
    if (name === "container.exited" && "id" in data) exited.get(data.id)?.();
  });
  const out: number[] = [];
  const rawSameSpec: number[] = [];
  const same = await berthSpecBundle(svc);
  try {
    for (let i = 0; i <= n; i++) {
      const rawMs = timeCommand([
        "runc",
        "--root",
        same.runcRoot,
        "run",
        "--bundle",
        same.bundle,
        `bench-spec-${process.pid}-${i}`,
      ]);
      if (i > 0) rawSameSpec.push(rawMs);
      const containerId = newContainerId();
      const done = new Promise<void>((r) => exited.set(containerId, r));
      const t0 = process.hrtime.bigint();
      await svc.run(
        CommandSchemas["container.run"].params.parse({
          containerId,
          name: `bench-engine-${process.pid}-${i}`,
          spec: { image: "busybox", command: ["true"], network: "none" },
        }),
      );
      await done;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (svc.inspect(containerId).exitCode !== 0) throw new Error("`true` did not exit 0");
      if (i > 0) out.push(ms); // run 0 warms the image and caches
      exited.delete(containerId);
      await svc.remove(
        CommandSchemas["container.remove"].params.parse({ containerId, force: true }),
      );
    }
  } finally {
    off();
    for (const c of svc.list())
      await svc.remove(
        CommandSchemas["container.remove"].params.parse({ containerId: c.id, force: true }),
      );
    await svc.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(join(same.bundle, ".."), { recursive: true, force: true });
  }
  return { engine: out, rawSameSpec };
}

/**
 * The engine with networking on (a bench-only prefix): run → exit of `true` on the default
 * bridge (netns + veth + address + resolv.conf/hosts, built in parallel with the overlay
 * mount) and with `--network none` (netns with lo up), alternating in the same loop.
 */
async function engineNetworks(n: number): Promise<{ bridge: number[]; none: number[] }> {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-bench-net-"));
  const prefix = "bnbnet";
  await cleanupAll(prefix);
  const svc = await ContainerService.create({ stateDir, network: { prefix } });
  const exited = new Map<string, () => void>();
  const off = svc.onEvent((name, data) => {
    if (name === "container.exited" && "id" in data) exited.get(data.id)?.();
  });
  const out = { bridge: [] as number[], none: [] as number[] };
  const once = async (network: "bridge" | "none", i: number) => {
    const containerId = newContainerId();
    const done = new Promise<void>((r) => exited.set(containerId, r));
    const t0 = process.hrtime.bigint();
    await svc.run(
      CommandSchemas["container.run"].params.parse({
        containerId,
        name: `bench-net-${network}-${process.pid}-${i}`,
        spec: { image: "busybox", command: ["true"], network },
      }),
    );
    await done;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (svc.inspect(containerId).exitCode !== 0) throw new Error("`true` did not exit 0");
    exited.delete(containerId);
    await svc.remove(CommandSchemas["container.remove"].params.parse({ containerId, force: true }));
    return ms;
  };
  try {
    for (let i = 0; i <= n; i++) {
      // Alternate which goes first, so neither side always runs on a just-warmed cache.
      const order: ("bridge" | "none")[] = i % 2 === 0 ? ["bridge", "none"] : ["none", "bridge"];
      for (const mode of order) {
        const ms = await once(mode, i);
        if (i > 0) out[mode].push(ms); // round 0 warms the image and caches
      }
    }
  } finally {
    off();
    for (const c of svc.list())
      await svc.remove(
        CommandSchemas["container.remove"].params.parse({ containerId: c.id, force: true }),
      );
    await svc.close();
    await cleanupAll(prefix, stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  }
  return out;
}

function row(what: string, xs: number[]): (string | number)[] {
  return [what, median(xs).toFixed(1), percentile(xs, 90).toFixed(1), Math.min(...xs).toFixed(1)];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root");
  const runcVersion = execFileSync("runc", ["--version"]).toString().split("\n")[0];
  console.log(`start-latency: ${runs} runs each, ${runcVersion}`);
  console.log(NETWORK_NOTE);
  const peers = [detectDocker(), detectPodman()];
  const live = peers.filter((p) => !p.skip);
  const peerArgv = new Map(
    live.map((p) => [p.name, [...p.cmd, "run", "--rm", ...p.runFlags, "busybox", "true"]]),
  );
  const stack = await startStack(Number(values.port));
  try {
    const cli = [process.execPath, join(root, "apps/cli/bin/berth.mjs")];
    // warm: the image is seeded and caches are hot for both sides
    timeCommand([...cli, "run", "--rm", "--network", "none", "busybox", "true"], stack.cliEnv);
    const { bundle, runcRoot } = rawRuncBundle(findBusyboxRootfs(stack.agentDir));
    const berth: number[] = [];
    const raw: number[] = [];
    const peerTimes = new Map<string, number[]>();
    for (const [name, argv] of peerArgv) {
      timeCommand(argv); // warm
      peerTimes.set(name, []);
    }
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
      berth.push(
        timeCommand([...cli, "run", "--rm", "--network", "none", "busybox", "true"], stack.cliEnv),
      );
      for (const [name, argv] of peerArgv) peerTimes.get(name)!.push(timeCommand(argv));
    }
    rmSync(join(bundle, ".."), { recursive: true, force: true });
    const { engine, rawSameSpec } = await engineLocal(runs);
    const nets = await engineNetworks(runs);
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
    rows.push(row("runc run (raw, Berth's exact OCI config)", rawSameSpec));
    rows.push(row("agent engine in-process (run → exit)", engine));
    rows.push(row("engine, default bridge", nets.bridge));
    rows.push(row("engine, --network none", nets.none));
    for (const [name, xs] of peerTimes) rows.push(row(`${name} run --rm (no network)`, xs));
    console.log(table(rows));
    console.log(`ratio berth/runc (medians): ${(median(berth) / median(raw)).toFixed(2)}x`);
    console.log(`ratio engine/runc (medians): ${(median(engine) / median(raw)).toFixed(2)}x`);
    console.log(
      `ratio engine/runc with Berth's config (medians): ${(median(engine) / median(rawSameSpec)).toFixed(2)}x`,
    );
    console.log(
      `ratio berth/runc with Berth's config (medians): ${(median(berth) / median(rawSameSpec)).toFixed(2)}x`,
    );
    console.log(
      `ratio engine bridge/none (medians): ${(median(nets.bridge) / median(nets.none)).toFixed(2)}x (target ≤ 1.2x; docker 1.12x, podman 1.67x)`,
    );
    for (const [name, xs] of peerTimes) {
      console.log(`ratio ${name}/runc (medians): ${(median(xs) / median(raw)).toFixed(2)}x`);
      console.log(`ratio berth/${name} (medians): ${(median(berth) / median(xs)).toFixed(2)}x`);
    }
    for (const p of live)
      console.log(`${p.name}: ${p.cmd.join(" ")} run --rm ${p.runFlags.join(" ")}`);
    for (const p of peers) if (p.skip) console.log(`${p.name}: skipped: ${p.skip}`);
  } finally {
    await stack.stop();
  }
}

main().catch((e: unknown) => {
  console.error(`start-latency: ${(e as Error).message}`);
  process.exit(1);
});
