/**
 * Container networking end to end on the real kernel (root): the engine with networking on,
 * under test-only prefixes (never a real agent's `berth0`), real runc containers (busybox httpd
 * and nc), user-defined networks owned by two teams, published ports reached from the host's
 * 127.0.0.1, `--network none|host`, a SIGKILLed engine process restarted, and the cleanup.
 * Traffic stays inside the test's namespaces and on loopback: every network is created with
 * masquerade off, and the host-wide ip_forward switch is left alone.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandSchemas, formatPorts, type CommandParams, type ContainerStatus } from "@berth/core";
import { run } from "../sys/exec";
import { cleanupAll } from "../network/cleanup";
import { rulesOf } from "../network/iptables";
import { netNames } from "../network/names";
import { ContainerService } from "./container-service";
import {
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi("container networking tests need root", process.env.CI === "true");
const PREFIX = "bnwire";
const PREFIX2 = "bnwirek";
const HOST = join(dirname(fileURLToPath(import.meta.url)), "testing/engine-host.ts");
const AGENT_DIR = join(dirname(fileURLToPath(import.meta.url)), "../..");
const stateDir = tempStateDir("berth-netwire-", ENABLED);
const stateDir2 = tempStateDir("berth-netwire2-", ENABLED);
let svc: ContainerService | undefined;
let svc2: ContainerService | undefined;
let host: ChildProcess | undefined;
/** Host ports of this run (random, high, unlikely to be taken). */
const PORT1 = 20_000 + (process.pid % 20_000);
const PORT2 = PORT1 + 1;

const HTTPD = (body: string) => [
  "sh",
  "-c",
  `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 80 -h /www`,
];
const SLEEP = ["sleep", "600"];

async function exec(s: ContainerService, id: string, argv: string[]) {
  let stdout = "";
  let stderr = "";
  const p: CommandParams<"container.exec"> = CommandSchemas["container.exec"].params.parse({
    containerId: id,
    argv,
  });
  const r = await s.exec(p, new AbortController().signal, (c) => {
    stdout += c.stdout ?? "";
    stderr += c.stderr ?? "";
  });
  return { exitCode: r.exitCode, stdout, stderr };
}

/** An HTTP GET from inside a container with busybox nc (wget segfaults on this host). */
function ncGet(s: ContainerService, id: string, target: string) {
  return exec(s, id, ["sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${target} 80`]);
}

function httpGet(hostIp: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: hostIp, port, path: "/", timeout: 3000 }, (res) => {
      let b = "";
      res.on("data", (d: Buffer) => (b += d.toString()));
      res.on("end", () => resolve(b));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** Waits until httpd answers inside the container (it starts asynchronously). */
async function httpdUp(s: ContainerService, id: string) {
  await waitFor(
    "httpd to listen",
    async () => {
      const r = await exec(s, id, ["netstat", "-ltn"]);
      return /:80\s/.test(r.stdout) ? true : undefined;
    },
    10_000,
    100,
  );
}

async function links(prefix: string): Promise<string[]> {
  const names = netNames(prefix);
  const r = await run(["ip", "-j", "link", "show"]);
  return (JSON.parse(r.stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => names.owns(n));
}

function netnsMounts(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[4]?.startsWith(`${dir}/netns/`) && l2fs(f) === "nsfs")
    .map((f) => f[4]!);
}
function l2fs(f: string[]): string | undefined {
  return f[f.indexOf("-") + 1];
}

function ifacesOf(procNetDev: string): string[] {
  return procNetDev
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]!.trim())
    .filter((n) => n !== "")
    .sort();
}

function ipOf(st: ContainerStatus): string {
  const ip = st.network?.endpoints[0]?.ip;
  if (!ip) throw new Error(`container ${st.name} has no address`);
  return ip;
}

describe.runIf(ENABLED)("container networking (root, runc)", () => {
  beforeAll(async () => {
    await cleanupAll(PREFIX);
    await cleanupAll(PREFIX2);
    svc = await ContainerService.create({ stateDir, network: { prefix: PREFIX } });
  }, 120_000);

  afterAll(async () => {
    await removeAllAndClose(svc).catch(() => undefined);
    await removeAllAndClose(svc2).catch(() => undefined);
    if (host?.pid && host.exitCode === null && host.signalCode === null)
      process.kill(host.pid, "SIGKILL");
    await cleanupAll(PREFIX, stateDir || undefined).catch(() => undefined);
    await cleanupAll(PREFIX2, stateDir2 || undefined).catch(() => undefined);
    removeStateDir(stateDir);
    removeStateDir(stateDir2);
  }, 120_000);

  it("two containers on a team's network talk by name; another team's network cannot reach them", async () => {
    const net = svc!.networking();
    await net.createNetwork({ name: "team-a-net", teamId: "team-a", masquerade: false });
    await net.createNetwork({ name: "team-b-net", teamId: "team-b", masquerade: false });
    const a1 = await svc!.run(
      runParams("a1", { command: HTTPD("hello-from-a1"), network: "team-a-net" }),
    );
    const a2 = await svc!.run(
      runParams("a2", { command: SLEEP, network: "team-a-net", networkAliases: ["peer"] }),
    );
    const b1 = await svc!.run(runParams("b1", { command: SLEEP, network: "team-b-net" }));
    await httpdUp(svc!, a1.id);
    expect(a1.network?.mode).toBe("team-a-net");
    expect(a1.network?.endpoints[0]?.ifName).toBe("eth0");

    // By name, through the agent's DNS responder (the container's resolv.conf names the gateway).
    const byName = await ncGet(svc!, a2.id, a1.name);
    expect(byName.stdout).toContain("hello-from-a1");
    const resolv = await exec(svc!, a2.id, ["cat", "/etc/resolv.conf"]);
    expect(resolv.stdout).toContain(`nameserver ${a2.network!.endpoints[0]!.gateway}`);
    // An alias resolves too.
    const alias = await exec(svc!, a1.id, ["nslookup", "peer"]);
    expect(alias.stdout).toContain(ipOf(a2));

    // The same request by address works from a2 (the control for the next check)...
    expect((await ncGet(svc!, a2.id, ipOf(a1))).stdout).toContain("hello-from-a1");
    // ...but from team B's container neither the name nor the address of a1 answers.
    const fromB = await ncGet(svc!, b1.id, ipOf(a1));
    expect(fromB.stdout).not.toContain("hello-from-a1");
    const nameFromB = await exec(svc!, b1.id, ["nslookup", a1.name]);
    expect(nameFromB.stdout).not.toContain(ipOf(a1));

    // network connect: a2 gets eth1 on team B's network and reaches b1 by name; disconnect ends it.
    const connected = await svc!.networkConnect(
      CommandSchemas["network.connect"].params.parse({
        network: "team-b-net",
        containerId: a2.id,
      }),
    );
    expect(connected.network?.endpoints.map((e) => e.ifName)).toEqual(["eth0", "eth1"]);
    const b1ip = ipOf(b1);
    expect((await exec(svc!, a2.id, ["nslookup", b1.name])).stdout).toContain(b1ip);
    const back = await svc!.networkDisconnect({ network: "team-b-net", containerId: a2.id });
    expect(back.network?.endpoints.map((e) => e.network)).toEqual(["team-a-net"]);
    expect(ifacesOf((await exec(svc!, a2.id, ["cat", "/proc/net/dev"])).stdout)).toEqual([
      "eth0",
      "lo",
    ]);

    // Counters: a2 sent and received something.
    const stats = await svc!.stats(a2.id);
    expect(stats.net?.rxBytes).toBeGreaterThan(0);
    expect(stats.net?.txPackets).toBeGreaterThan(0);
  }, 120_000);

  it("-p 127.0.0.1:PORT:80 answers on the host's loopback; the same host port is refused to a second container", async () => {
    const web = await svc!.run(
      runParams("web", {
        command: HTTPD("hello-published"),
        ports: [`127.0.0.1:${PORT1}:80`],
      }),
    );
    await httpdUp(svc!, web.id);
    expect(formatPorts(web.network!.ports)).toBe(`127.0.0.1:${PORT1}->80/tcp`);
    expect(await httpGet("127.0.0.1", PORT1)).toContain("hello-published");

    const clash = runParams("web2", { command: SLEEP, ports: [`127.0.0.1:${PORT1}:80`] });
    await expect(svc!.run(clash)).rejects.toThrow(/already allocated/);
    expect(svc!.list().some((c) => c.id === clash.containerId)).toBe(false);
    expect(svc!.networking().manager.store.allocations({ containerId: clash.containerId })).toEqual(
      [],
    );
    expect(existsSync(join(stateDir, "netns", clash.containerId))).toBe(false);

    // Stop removes the port; start publishes it again.
    await svc!.stop({ containerId: web.id, timeoutSeconds: 1 });
    expect(svc!.networking().manager.store.ports({ containerId: web.id })).toEqual([]);
    await expect(httpGet("127.0.0.1", PORT1)).rejects.toThrow();
    const again = await svc!.start({ containerId: web.id });
    expect(again.network?.ports[0]?.hostPort).toBe(PORT1);
    await httpdUp(svc!, web.id);
    expect(await httpGet("127.0.0.1", PORT1)).toContain("hello-published");
  }, 120_000);

  it("--network none has only loopback; --network host sees the host's interfaces", async () => {
    const none = await svc!.run(
      runParams("none", {
        command: SLEEP,
        network: "none",
        dns: ["203.0.113.53"],
        addHosts: [{ host: "db.local", ip: "10.1.2.3" }],
      }),
    );
    // --dns and --add-host land in the container's (read-only) resolv.conf and hosts.
    expect((await exec(svc!, none.id, ["cat", "/etc/resolv.conf"])).stdout).toBe(
      "nameserver 203.0.113.53\n",
    );
    expect((await exec(svc!, none.id, ["cat", "/etc/hosts"])).stdout).toContain(
      "10.1.2.3\tdb.local",
    );
    const write = await exec(svc!, none.id, ["sh", "-c", "echo x >> /etc/hosts"]);
    expect(write.exitCode).not.toBe(0);
    const inNone = await exec(svc!, none.id, ["cat", "/proc/net/dev"]);
    expect(ifacesOf(inNone.stdout)).toEqual(["lo"]);
    const lo = await exec(svc!, none.id, ["ip", "link", "show", "lo"]);
    expect(lo.stdout).toMatch(/UP/);

    const h = await svc!.run(runParams("host", { command: SLEEP, network: "host" }));
    const inHost = await exec(svc!, h.id, ["cat", "/proc/net/dev"]);
    expect(ifacesOf(inHost.stdout)).toEqual(ifacesOf(readFileSync("/proc/net/dev", "utf8")));
    expect(h.network?.endpoints).toEqual([]);

    // container:<name> shares another container's namespace (its eth0 and address).
    const owner = await svc!.run(runParams("owner", { command: SLEEP }));
    const guest = await svc!.run(
      runParams("guest", { command: SLEEP, network: `container:${owner.name}` }),
    );
    const inGuest = await exec(svc!, guest.id, ["ip", "-4", "addr", "show", "eth0"]);
    expect(inGuest.stdout).toContain(`inet ${ipOf(owner)}/`);
    expect(guest.network?.mode).toBe(`container:${owner.name}`);
    // Its removal leaves the owner's namespace alone.
    await svc!.remove({ containerId: guest.id, force: true });
    expect((await exec(svc!, owner.id, ["ip", "-4", "addr", "show", "eth0"])).stdout).toContain(
      ipOf(owner),
    );
  }, 60_000);

  it("after a SIGKILL and a restart of the engine, addresses, ports and names still work and no address is handed out twice", async () => {
    const c1 = runParams("k1", {
      command: HTTPD("hello-after-restart"),
      network: "kill-net",
      ports: [`127.0.0.1:${PORT2}:80`],
    });
    const c2 = runParams("k2", { command: SLEEP, network: "kill-net" });
    host = spawn(process.execPath, ["--import", "tsx", HOST, stateDir2, PREFIX2], {
      cwd: AGENT_DIR,
      stdio: ["pipe", "pipe", "inherit"],
    });
    host.stdin!.end(
      JSON.stringify({ networks: [{ name: "kill-net", teamId: "team-k" }], runs: [c1, c2] }),
    );
    const line = await new Promise<string>((resolve, reject) => {
      let buf = "";
      host!.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) resolve(buf.split("\n")[0]!);
      });
      host!.once("exit", () => reject(new Error("engine host exited")));
    });
    const out = JSON.parse(line) as { statuses?: ContainerStatus[]; error?: string };
    expect(out.error).toBeUndefined();
    const [s1, s2] = out.statuses!;
    process.kill(host.pid!, "SIGKILL");
    await new Promise((r) => host!.once("exit", r));

    svc2 = await ContainerService.create({ stateDir: stateDir2, network: { prefix: PREFIX2 } });
    expect(svc2.inspect(c1.containerId).state).toBe("running");
    await httpdUp(svc2, c1.containerId);
    expect(await httpGet("127.0.0.1", PORT2)).toContain("hello-after-restart");
    const byName = await ncGet(svc2, c2.containerId, c1.name);
    expect(byName.stdout).toContain("hello-after-restart");
    // A new container gets an address nobody has.
    const c3 = await svc2.run(runParams("k3", { command: SLEEP, network: "kill-net" }));
    const used = [ipOf(s1!), ipOf(s2!)];
    expect(used).not.toContain(ipOf(c3));
    expect(svc2.inspect(c1.containerId).network?.endpoints[0]?.ip).toBe(ipOf(s1!));
  }, 180_000);

  it("after removing everything, no veth, netns, port or IPAM entry is left; cleanupAll removes bridges and rules", async () => {
    for (const [s, dir, prefix] of [
      [svc!, stateDir, PREFIX],
      [svc2!, stateDir2, PREFIX2],
    ] as const) {
      for (const c of s.list()) await s.remove({ containerId: c.id, force: true });
      for (const n of s.networking().list())
        if (!n.isDefault) await s.networking().removeNetwork(n.id);
      const store = s.networking().manager.store;
      expect(store.allocations({})).toEqual([]);
      expect(store.ports()).toEqual([]);
      expect(netnsMounts(dir)).toEqual([]);
      expect(existsSync(join(dir, "netns")) ? readdirSync(join(dir, "netns")) : []).toEqual([]);
      // Only the default bridge is left while the engine runs.
      expect(await links(prefix)).toEqual([netNames(prefix).defaultBridge]);
      await s.close();
      await cleanupAll(prefix, dir);
      expect(await links(prefix)).toEqual([]);
      expect(await rulesOf(netNames(prefix))).toEqual([]);
      expect(existsSync(join(dir, "networks.json"))).toBe(false);
    }
    svc = undefined;
    svc2 = undefined;
  }, 120_000);
});
