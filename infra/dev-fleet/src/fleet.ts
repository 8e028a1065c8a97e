/**
 * The dev fleet: N berth-agent test hosts on this machine. Each host is a network namespace
 * pinned at <run>/netns/<host> with a veth (`eth0` inside) on the fleet's own bridge, an address
 * of the fleet's /24, loopback up and a default route via the bridge — whose address is the
 * "server address" berth-server listens on. No NAT, and an iptables REJECT plus per-interface
 * forwarding=0 keep the fleet's traffic from being routed off the machine; inside its own
 * namespace each host forwards (ip_forward=1 there only), so its published ports answer other
 * hosts. Each host runs the
 * built agent inside its namespace (`nsenter --net`) with its own state dir, node name, join token
 * and cgroup subtree.
 *
 * Crash-safe: the state file is written before each thing is made, and `destroyFleet` also finds
 * everything by the names the prefix derives (bridge, veths, run dir, cgroups), so a `down` after
 * a partial or crashed `up` removes what exists and ignores what does not.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
  renameSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  createHostGroups,
  killTrees,
  ownHierarchies,
  parseMountInfo,
  removeTrees,
} from "./cgroups";
import { run } from "./exec";
import {
  DEFAULT_PREFIX,
  DEFAULT_RUN_ROOT,
  FleetPrefixSchema,
  HostCountSchema,
  addressesOf,
  fleetNames,
  pickSubnet,
  type FleetNames,
} from "./names";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const AGENT_BIN = join(repoRoot, "apps/node-agent/bin/berth-agent.mjs");
const AGENT_BUNDLE = join(repoRoot, "apps/node-agent/dist/berth-agent.mjs");

const HostStateSchema = z.object({
  index: z.number().int(),
  name: z.string(),
  veth: z.string(),
  netns: z.string(),
  address: z.string(),
  stateDir: z.string(),
  log: z.string(),
  networkPrefix: z.string(),
  cgroups: z.array(z.string()),
  pid: z.number().int().optional(),
  /** /proc/<pid>/stat start time: a recycled pid is never taken for the agent. */
  startTime: z.string().optional(),
});
export type FleetHost = z.infer<typeof HostStateSchema>;

const FleetStateSchema = z.object({
  version: z.literal(1),
  prefix: z.string(),
  subnet: z.string(),
  bridge: z.string(),
  serverAddress: z.string(),
  serverUrl: z.string().optional(),
  fleetCgroups: z.array(z.string()),
  hosts: z.array(HostStateSchema),
});
type FleetState = z.infer<typeof FleetStateSchema>;

export interface FleetOptions {
  hosts: number;
  prefix?: string;
  /** berth-server's URL as the hosts reach it; a function gets the fleet's server address
   *  (the bridge's) once the bridge exists, e.g. to start a server listening there. */
  serverUrl: string | ((serverAddress: string) => string | Promise<string>);
  /** A fresh one-time join token per host. */
  joinToken(host: string): Promise<string>;
  /** Where the run dir goes (default /run/berth-fleet). */
  runRoot?: string;
  /** Extra environment for the agents (e.g. BERTH_LOG_LEVEL). */
  agentEnv?: Record<string, string>;
  /** How long to wait for each agent to join (default 60 s). */
  joinTimeoutMs?: number;
}

export interface Fleet {
  prefix: string;
  bridge: string;
  subnet: string;
  serverAddress: string;
  serverUrl: string;
  hosts: FleetHost[];
  destroy(): Promise<DestroyReport>;
}

export interface DestroyReport {
  agentsStopped: number;
  processesKilled: number;
  cgroupsRemoved: number;
  mountsRemoved: number;
  linksRemoved: number;
  rulesRemoved: number;
}

// --- state file ---------------------------------------------------------------------------

function writeState(n: FleetNames, s: FleetState): void {
  const tmp = `${n.stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, n.stateFile);
}

export function readState(
  prefix: string,
  runRoot: string = DEFAULT_RUN_ROOT,
): FleetState | undefined {
  const n = fleetNames(prefix, runRoot);
  let text: string;
  try {
    text = readFileSync(n.stateFile, "utf8");
  } catch {
    return undefined;
  }
  const r = FleetStateSchema.safeParse(JSON.parse(text));
  return r.success ? r.data : undefined;
}

// --- helpers ------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

const alive = (h: FleetHost) =>
  h.pid !== undefined && h.startTime !== undefined && startTimeOf(h.pid) === h.startTime;

async function takenNets(): Promise<string[]> {
  const routes = JSON.parse(
    (await run(["ip", "-j", "-4", "route", "show", "table", "all"])).stdout,
  ) as {
    dst?: string;
  }[];
  const addrs = JSON.parse((await run(["ip", "-j", "-4", "addr"])).stdout) as {
    addr_info?: { local?: string; prefixlen?: number }[];
  }[];
  return [
    ...routes.map((r) => r.dst ?? "").filter((d) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d)),
    ...addrs.flatMap((a) => (a.addr_info ?? []).map((i) => `${i.local}/${i.prefixlen}`)),
  ].filter((d) => !d.startsWith("undefined"));
}

async function linkNames(): Promise<string[]> {
  const links = JSON.parse((await run(["ip", "-j", "link"])).stdout) as { ifname: string }[];
  return links.map((l) => l.ifname);
}

function guardRule(n: FleetNames): string[] {
  // Traffic entering from the fleet bridge may only leave through it (host to host): never routed.
  return [
    "FORWARD",
    "-i",
    n.bridge,
    "!",
    "-o",
    n.bridge,
    "-m",
    "comment",
    "--comment",
    n.ruleComment,
    "-j",
    "REJECT",
  ];
}

/** Creates the namespace pinned at `path` (as `ip netns add` does), loopback up. */
async function createNetns(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, "", { mode: 0o600 });
  await run(["unshare", `--net=${path}`, "--", "ip", "link", "set", "lo", "up"]);
}

const inNetns = (path: string, argv: string[], input?: string) =>
  run(["nsenter", `--net=${path}`, "--", ...argv], input === undefined ? {} : { input });

// --- up -----------------------------------------------------------------------------------

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error("dev fleet: needs root (netns, veth, cgroups)");
}

/**
 * The fleet's network alone: its bridge with the server address, the guard rule and the state
 * file (no hosts yet). Reused by `createFleet` of the same prefix, so a server can be started on
 * the server address before the hosts need it (`dev-fleet net`, then the server, then `up`).
 */
export async function createFleetNetwork(
  prefix: string = DEFAULT_PREFIX,
  runRoot = DEFAULT_RUN_ROOT,
): Promise<{ prefix: string; bridge: string; subnet: string; serverAddress: string }> {
  preflight();
  const n = fleetNames(FleetPrefixSchema.parse(prefix), runRoot);
  const existing = readState(n.prefix, runRoot);
  const bridgeExists = (await linkNames()).includes(n.bridge);
  if (existing && existing.hosts.length === 0 && bridgeExists) {
    return {
      prefix: n.prefix,
      bridge: n.bridge,
      subnet: existing.subnet,
      serverAddress: existing.serverAddress,
    };
  }
  if (existing || bridgeExists || existsSync(n.stateFile))
    throw new Error(
      `dev fleet ${n.prefix} is already up (or left over): run \`down --prefix ${n.prefix}\` first`,
    );
  mkdirSync(n.runDir, { recursive: true, mode: 0o755 });
  const subnet = pickSubnet(n.prefix, await takenNets());
  const addr = addressesOf(subnet);
  const state: FleetState = {
    version: 1,
    prefix: n.prefix,
    subnet,
    bridge: n.bridge,
    serverAddress: addr.server,
    fleetCgroups: ownHierarchies().map((h) => join(h.ownDir, n.cgroupName)),
    hosts: [],
  };
  writeState(n, state);
  try {
    await run(["ip", "link", "add", n.bridge, "type", "bridge"]);
    await run(["ip", "addr", "add", `${addr.server}/24`, "dev", n.bridge]);
    await run(["ip", "link", "set", n.bridge, "up"]);
    writeFileSync(`/proc/sys/net/ipv4/conf/${n.bridge}/forwarding`, "0");
    await run(["iptables", "-w", "-I", ...guardRule(n)]);
  } catch (e) {
    await destroyFleet(n.prefix, runRoot).catch(() => undefined);
    throw e;
  }
  return { prefix: n.prefix, bridge: n.bridge, subnet, serverAddress: addr.server };
}

export async function createFleet(o: FleetOptions): Promise<Fleet> {
  const count = HostCountSchema.parse(o.hosts);
  const n = fleetNames(FleetPrefixSchema.parse(o.prefix ?? DEFAULT_PREFIX), o.runRoot);
  preflight();
  if (!existsSync(AGENT_BUNDLE))
    throw new Error(`dev fleet: ${AGENT_BUNDLE} is missing: npm run build -w apps/node-agent`);
  const net = await createFleetNetwork(n.prefix, o.runRoot);
  const state = readState(n.prefix, o.runRoot);
  if (!state) throw new Error(`dev fleet ${n.prefix}: state file vanished`);
  const addr = addressesOf(net.subnet);
  const hs = ownHierarchies();
  const destroy = () => destroyFleet(n.prefix, o.runRoot);
  try {
    const serverUrl = (
      typeof o.serverUrl === "string" ? o.serverUrl : await o.serverUrl(addr.server)
    ).replace(/\/+$/, "");
    state.serverUrl = serverUrl;
    writeState(n, state);

    for (let i = 1; i <= count; i++) {
      const h = n.host(i);
      const host: FleetHost = { index: i, ...h, address: addr.host(i), cgroups: [] };
      state.hosts.push(host);
      writeState(n, state);

      await createNetns(h.netns);
      // Routing inside the host's own namespace (ip_forward is per netns; the machine's own
      // stays as it is): a port its agent publishes is DNATed on eth0 to a container's bridge,
      // which only a forwarding host delivers — so other test hosts reach it, like real hosts.
      // Written before eth0 exists (it resets every interface's flag). Nothing leaves the
      // machine: the fleet bridge has forwarding=0 and the guard rule.
      await inNetns(h.netns, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
      // Both veth ends are made inside the namespace; the peer moves to this process's one.
      await inNetns(h.netns, [
        "ip",
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        h.veth,
        "netns",
        String(process.pid),
      ]);
      await run(["ip", "link", "set", h.veth, "master", n.bridge, "up"]);
      await inNetns(
        h.netns,
        ["ip", "-batch", "-"],
        [
          `addr add ${host.address}/24 dev eth0`,
          "link set eth0 up",
          `route add default via ${addr.server}`,
        ].join("\n") + "\n",
      );

      host.cgroups = createHostGroups(hs, n.cgroupName, h.name);
      writeState(n, state);

      mkdirSync(h.stateDir, { recursive: true, mode: 0o700 });
      const token = await o.joinToken(h.name);
      const pid = spawnAgent(host, serverUrl, token, o.agentEnv ?? {});
      host.pid = pid;
      host.startTime = startTimeOf(pid);
      writeState(n, state);
    }

    await Promise.all(state.hosts.map((h) => waitJoined(h, o.joinTimeoutMs ?? 60_000)));
  } catch (e) {
    await destroy().catch(() => undefined);
    throw e;
  }
  return {
    prefix: n.prefix,
    bridge: n.bridge,
    subnet: net.subnet,
    serverAddress: addr.server,
    serverUrl: state.serverUrl!,
    hosts: state.hosts,
    destroy,
  };
}

/**
 * Starts the agent: a tiny sh moves itself into the host's groups (so the agent is never outside
 * them, not even for its first instruction), then execs nsenter, which execs node: one pid.
 * Arguments are passed as positional parameters, never spliced into the script.
 */
function spawnAgent(
  h: FleetHost,
  serverUrl: string,
  token: string,
  extraEnv: Record<string, string>,
): number {
  const script =
    'while [ "$#" -gt 0 ] && [ "$1" != -- ]; do echo $$ > "$1" || exit 97; shift; done; shift; exec "$@"';
  const argv = [
    "-c",
    script,
    "sh",
    ...h.cgroups.map((d) => join(d, "cgroup.procs")),
    "--",
    "nsenter",
    `--net=${h.netns}`,
    "--",
    process.execPath,
    AGENT_BIN,
    "--server",
    serverUrl,
    "--state-dir",
    h.stateDir,
    "--node-name",
    h.name,
  ];
  // Env, not flags: an agent without networking (or the option) simply ignores the prefix.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BERTH_NETWORK_PREFIX: h.networkPrefix,
    ...extraEnv,
    BERTH_JOIN_TOKEN: token,
  };
  for (const k of ["BERTH_SERVER", "BERTH_AGENT_STATE_DIR", "BERTH_NODE_NAME"]) delete env[k];
  const fd = openSync(h.log, "a", 0o600);
  try {
    const child = spawn("/bin/sh", argv, {
      cwd: repoRoot,
      env,
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`dev fleet: cannot start the agent of ${h.name}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

async function waitJoined(h: FleetHost, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(join(h.stateDir, "credential.json"))) return;
    if (!alive(h)) break;
    await sleep(100);
  }
  const tail = readFileSync(h.log, "utf8").split("\n").slice(-10).join("\n");
  throw new Error(
    `dev fleet: the agent of ${h.name} ${alive(h) ? "did not join in time" : "exited"}; last log lines (${h.log}):\n${tail}`,
  );
}

// --- down ---------------------------------------------------------------------------------

function mountsUnder(dir: string): string[] {
  return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"))
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Stops the fleet's agents (by the pids it recorded: SIGTERM, then SIGKILL), kills what is left
 * in its cgroups (containers, monitors), unmounts everything under its run dir (overlays,
 * container and host network namespaces), deletes its veths, bridge and guard rule, and removes
 * its cgroups and dirs. Whatever is already gone is skipped.
 */
export async function destroyFleet(
  prefix: string,
  runRoot = DEFAULT_RUN_ROOT,
): Promise<DestroyReport> {
  const n = fleetNames(prefix, runRoot);
  const state = readState(prefix, runRoot);
  const report: DestroyReport = {
    agentsStopped: 0,
    processesKilled: 0,
    cgroupsRemoved: 0,
    mountsRemoved: 0,
    linksRemoved: 0,
    rulesRemoved: 0,
  };

  // 1. Agents: a graceful stop first (they close their connection), then the kill.
  const running = (state?.hosts ?? []).filter(alive);
  for (const h of running) process.kill(h.pid!, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (running.some(alive) && Date.now() < deadline) await sleep(50);
  for (const h of running.filter(alive)) process.kill(h.pid!, "SIGKILL");
  report.agentsStopped = running.length;

  // 2. Everything left in the fleet's groups (containers, conmon), then the groups.
  const groups = [
    ...new Set([
      ...(state?.fleetCgroups ?? []),
      ...ownHierarchies().map((h) => join(h.ownDir, n.cgroupName)),
    ]),
  ];
  report.processesKilled = await killTrees(groups);
  report.cgroupsRemoved = await removeTrees(groups);

  // 3. Mounts under the run dir: overlays, container netns, the hosts' netns.
  for (const m of mountsUnder(n.runDir)) {
    const r = await run(["umount", m], { allowFailure: true });
    if (r.code !== 0) await run(["umount", "-l", m], { allowFailure: true });
    report.mountsRemoved++;
  }
  const left = mountsUnder(n.runDir);
  if (left.length > 0) throw new Error(`dev fleet: cannot unmount ${left.join(", ")}`);

  // 4. Links (a host's veth dies with its namespace; the bridge and any straggler here).
  const links = (await linkNames()).filter(n.ownsLink);
  for (const l of [
    ...links.filter((x) => x !== n.bridge),
    ...links.filter((x) => x === n.bridge),
  ]) {
    const r = await run(["ip", "link", "del", l], { allowFailure: true });
    if (r.code === 0) report.linksRemoved++;
  }

  // 5. The guard rule (all copies of it).
  for (let i = 0; i < 16; i++) {
    const r = await run(["iptables", "-w", "-D", ...guardRule(n)], { allowFailure: true });
    if (r.code !== 0) break;
    report.rulesRemoved++;
  }

  // 6. Dirs.
  rmSync(n.runDir, { recursive: true, force: true });
  try {
    if (readdirSync(runRoot).length === 0) rmdirSync(runRoot);
  } catch {
    /* absent or shared */
  }
  return report;
}
