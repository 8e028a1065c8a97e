/**
 * The network library on the real kernel (root): namespaces made by createNetns stand in for
 * containers (busybox httpd/ping/nslookup run in them with nsenter), wired to bridges of a
 * test-only prefix. Traffic stays inside these namespaces and on the host's loopback; no
 * namespace has a route out except through its own test bridge, and nothing is masqueraded to
 * a real interface (masquerade: false).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError, newContainerId } from "@berth/core";
import { rootOrCi, tempStateDir } from "../containers/testing/integration-fixture";
import { run } from "../sys/exec";
import { cleanupAll } from "./cleanup";
import { DnsResponder } from "./dns";
import { detectIptables, rulesOf } from "./iptables";
import { netNames } from "./names";
import { createNetns, deleteNetns, inNetns, isNetnsMount } from "./netns";
import { NetworkManager } from "./network-manager";
import type { NetworkRecord } from "./network-store";
import { parsePublish } from "./ports";

const ENABLED = rootOrCi("network library integration tests need root", process.env.CI === "true");
const PREFIX = "bntest";
const names = netNames(PREFIX);
const stateDir = tempStateDir("berth-net-", ENABLED);
const children: ChildProcess[] = [];
let mgr: NetworkManager;

async function links(): Promise<string[]> {
  const r = await run(["ip", "-j", "link", "show"]);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

function ping(from: string, ip: string) {
  return inNetns(from, ["busybox", "ping", "-c", "1", "-W", "1", ip], { allowFailure: true });
}

/** curl of the host, run in the namespace (busybox wget crashes on this host). */
function wget(from: string, url: string) {
  return inNetns(from, ["curl", "-s", "-m", "2", url], { allowFailure: true, timeoutMs: 5000 });
}

/** busybox httpd in a namespace, serving `body` on port 80 (killed by pid in afterAll). */
async function httpd(netns: string, body: string): Promise<void> {
  const dir = join(stateDir, `www-${children.length}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "index.html"), body);
  const c = spawn(
    "nsenter",
    [`--net=${netns}`, "--", "busybox", "httpd", "-f", "-p", "80", "-h", dir],
    {
      stdio: "ignore",
    },
  );
  children.push(c);
  for (let i = 0; i < 50; i++) {
    const r = await inNetns(netns, ["busybox", "netstat", "-ltn"], { allowFailure: true });
    if (/:80\s/.test(r.stdout)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("httpd did not start");
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", timeout: 3000 }, (res) => {
      let b = "";
      res.on("data", (d: Buffer) => (b += d.toString()));
      res.on("end", () => resolve(b));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function isolationDrops(): Promise<number> {
  const r = await run([...(await detectIptables()).save, "-c", "-t", "filter"]);
  return r.stdout
    .split("\n")
    .filter((l) => l.includes(`-A ${names.chains.isolation2} `) && l.includes("-j DROP"))
    .reduce((n, l) => n + Number(/^\[(\d+):/.exec(l)?.[1] ?? 0), 0);
}

interface Ctr {
  id: string;
  ns: string;
  ip: string;
}

async function container(network: NetworkRecord, aliases: string[] = []): Promise<Ctr> {
  const id = newContainerId();
  const ns = mgr.netnsPath(id);
  await createNetns(ns);
  const a = await mgr.attach({ containerId: id, network: network.id, aliases });
  return { id, ns, ip: a.ip };
}

describe.skipIf(!ENABLED)("network library on the real kernel (root)", () => {
  let linksBefore: string[];
  let netA: NetworkRecord;
  let netB: NetworkRecord;
  let netC: NetworkRecord;
  let c1: Ctr, c2: Ctr, c3: Ctr, c4: Ctr, c5: Ctr;

  beforeAll(async () => {
    await cleanupAll(PREFIX, stateDir);
    linksBefore = await links();
    mgr = await NetworkManager.open({
      stateDir,
      prefix: PREFIX,
      defaultSubnet: "10.231.0.0/24",
      pool: ["10.231.9.0/24"],
    });
  });

  afterAll(async () => {
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) c.kill("SIGKILL");
    if (ENABLED) {
      await cleanupAll(PREFIX, stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("creates, checks and deletes a persistent network namespace", async () => {
    const p = join(stateDir, "netns", "probe");
    await createNetns(p);
    expect(await isNetnsMount(p)).toBe(true);
    await expect(createNetns(p)).rejects.toThrow(/already exists/);
    writeFileSync(join(stateDir, "plain"), "");
    expect(await isNetnsMount(join(stateDir, "plain"))).toBe(false);
    await deleteNetns(p);
    expect(await isNetnsMount(p)).toBe(false);
  });

  it("creates the default network and refuses overlapping or invalid subnets", async () => {
    const def = mgr.defaultNetwork()!;
    expect(def).toMatchObject({ name: "bridge", subnet: "10.231.0.0/24", bridge: `${PREFIX}0` });
    expect(await links()).toContain(`${PREFIX}0`);
    netA = await mgr.createNetwork({
      name: "a",
      teamId: "t1",
      subnet: "10.231.1.0/24",
      masquerade: false,
    });
    netB = await mgr.createNetwork({
      name: "b",
      teamId: "t2",
      subnet: "10.231.2.0/24",
      masquerade: false,
    });
    netC = await mgr.createNetwork({
      name: "c",
      subnet: "10.231.3.0/24",
      icc: false,
      masquerade: false,
    });
    expect(netA.gateway).toBe("10.231.1.1");
    expect(netA.bridge.length).toBeLessThanOrEqual(15);
    await expect(mgr.createNetwork({ name: "x", subnet: "10.231.1.128/25" })).rejects.toThrow(
      /overlaps network a/,
    );
    await expect(mgr.createNetwork({ name: "a", subnet: "10.231.8.0/24" })).rejects.toThrow(
      /already exists/,
    );
    await expect(
      mgr.createNetwork({ name: "x", subnet: "10.231.8.0/24", gateway: "10.231.7.1" }),
    ).rejects.toThrow(/gateway/);
    const host = (
      JSON.parse((await run(["ip", "-j", "-4", "route"])).stdout) as { dst: string; dev: string }[]
    ).find((r) => r.dst !== "default" && !names.owns(r.dev) && r.dst.includes("/"));
    if (host)
      await expect(mgr.createNetwork({ name: "y", subnet: host.dst })).rejects.toThrow(
        /overlaps host route/,
      );
  });

  it("connects two containers on one network: they reach each other and resolve names", async () => {
    c1 = await container(netA, ["web", "web-alias"]);
    c2 = await container(netA, ["client"]);
    expect(c1.ip).not.toBe(c2.ip);
    const shown = await inNetns(c2.ns, ["ip", "-j", "-4", "addr", "show", "dev", "eth0"]);
    expect(shown.stdout).toContain(c2.ip);
    const route = await inNetns(c2.ns, ["ip", "route", "show", "default"]);
    expect(route.stdout).toContain(`via ${netA.gateway} dev eth0`);
    // (sysfs is the host's under nsenter --net: ask the kernel through ip instead)
    const link = JSON.parse(
      (await inNetns(c1.ns, ["ip", "-j", "link", "show", "eth0"])).stdout,
    ) as {
      address: string;
    }[];
    const mac = link[0]!.address;
    expect(mac).toBe(`02:42:0a:e7:01:${Number(c1.ip.split(".")[3]).toString(16).padStart(2, "0")}`);
    expect((await ping(c2.ns, c1.ip)).code).toBe(0);
    await httpd(c1.ns, "hello from c1");
    expect((await wget(c2.ns, `http://${c1.ip}/`)).stdout).toBe("hello from c1");

    const dns = await DnsResponder.listen(netA.gateway, 53, {
      lookup: (n) => mgr.lookup(netA.id, n),
      allowFrom: netA.subnet,
    });
    try {
      const r = await inNetns(c2.ns, ["busybox", "nslookup", "web-alias", netA.gateway], {
        allowFailure: true,
      });
      expect(r.stdout).toContain(c1.ip);
      const unknown = await inNetns(c2.ns, ["busybox", "nslookup", "nope", netA.gateway], {
        allowFailure: true,
      });
      expect(unknown.stdout + unknown.stderr).not.toContain(c1.ip);
    } finally {
      await dns.close();
    }
    const counters = await mgr.counters(c2.id);
    expect(counters).toHaveLength(1);
    expect(counters[0]!.txPackets).toBeGreaterThan(0);
    expect(counters[0]!.rxBytes).toBeGreaterThan(0);
  });

  it("isolates networks from each other", async () => {
    c3 = await container(netB);
    expect((await ping(c3.ns, netB.gateway)).code).toBe(0);
    const drops = await isolationDrops();
    expect((await ping(c3.ns, c1.ip)).code).not.toBe(0);
    expect((await wget(c3.ns, `http://${c1.ip}/`)).stdout).not.toContain("hello");
    expect(await isolationDrops()).toBeGreaterThan(drops);
  });

  it("icc=false blocks container-to-container traffic on one bridge, not the gateway", async () => {
    c4 = await container(netC);
    c5 = await container(netC);
    expect((await ping(c4.ns, netC.gateway)).code).toBe(0);
    expect((await ping(c5.ns, netC.gateway)).code).toBe(0);
    expect((await ping(c4.ns, c5.ip)).code).not.toBe(0);
    const link = await run(["bridge", "-d", "link", "show"]);
    expect(link.stdout).toMatch(/isolated on/);
  });

  it("publishes a port on the host's loopback and refuses a second publish of it", async () => {
    const port = await freePort();
    const [b] = await mgr.publish(c1.id, netA.id, parsePublish(`127.0.0.1:${port}:80`));
    expect(b).toMatchObject({ hostPort: port, containerIp: c1.ip, containerPort: 80 });
    expect(await httpGet("127.0.0.1", port)).toBe("hello from c1");
    await expect(mgr.publish(c2.id, netA.id, parsePublish(`${port}:80`))).rejects.toThrow(
      /already published by container/,
    );
    // A host process on a port: refused before any rule is written.
    const hostPort = await freePort();
    const held: Server = await new Promise((r) => {
      const s = createServer().listen(hostPort, "127.0.0.1", () => r(s));
    });
    try {
      const rulesBefore = await rulesOf(names);
      const err = await mgr
        .publish(c2.id, netA.id, parsePublish(`${hostPort}:80`))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).kind).toBe("conflict");
      expect((err as Error).message).toMatch(/in use by another process/);
      expect(await rulesOf(names)).toEqual(rulesBefore);
    } finally {
      await new Promise((r) => held.close(r));
    }
    const any = await mgr.publish(c2.id, netA.id, parsePublish("127.0.0.1::8080"));
    expect(any[0]!.hostPort).toBeGreaterThan(0);
    await mgr.unpublish(c2.id);
    await mgr.unpublish(c1.id);
    expect((await rulesOf(names)).some((l) => l.includes("DNAT --to-destination"))).toBe(false);
    await expect(httpGet("127.0.0.1", port)).rejects.toThrow();
  });

  it("a published port answers another host (a test namespace on a link of its own)", async () => {
    // The "remote host": a netns joined to the host by a veth pair of the test's prefix;
    // forwarding is on for that link only (the host-wide switch stays as it is).
    const remote = join(stateDir, "netns", "remote");
    await createNetns(remote);
    const hostEnd = `${PREFIX}_remote`;
    await run(["ip", "-batch", "-"], {
      input:
        `link add ${hostEnd} type veth peer name eth0 netns ${remote}\n` +
        `addr add 10.231.50.1/30 dev ${hostEnd}\nlink set ${hostEnd} up\n`,
    });
    await inNetns(remote, ["ip", "-batch", "-"], {
      input: "link set lo up\naddr add 10.231.50.2/30 dev eth0\nlink set eth0 up\n",
    });
    writeFileSync(`/proc/sys/net/ipv4/conf/${hostEnd}/forwarding`, "1");
    const port = await freePort();
    await mgr.publish(c1.id, netA.id, parsePublish(`${port}:80`));
    try {
      expect((await wget(remote, `http://10.231.50.1:${port}/`)).stdout).toBe("hello from c1");
      expect(await httpGet("127.0.0.1", port)).toBe("hello from c1");
    } finally {
      await mgr.unpublish(c1.id);
      await run(["ip", "link", "del", hostEnd], { allowFailure: true });
      await deleteNetns(remote);
    }
    expect((await wget(remote, `http://10.231.50.1:${port}/`)).stdout).toBe("");
  });

  it("never hands out a live address twice, across a store reload", async () => {
    const live = new Set(mgr.store.allocations().map((a) => a.ip));
    const again = await NetworkManager.open({ stateDir, prefix: PREFIX, pool: ["10.231.9.0/24"] });
    expect(
      again
        .list()
        .map((n) => n.name)
        .sort(),
    ).toEqual(["a", "b", "bridge", "c"]);
    expect(
      again.store
        .allocations()
        .map((a) => a.ip)
        .sort(),
    ).toEqual([...live].sort());
    const ids = Array.from({ length: 5 }, () => newContainerId());
    const ips: string[] = [];
    for (const id of ids) {
      await createNetns(again.netnsPath(id));
      ips.push((await again.attach({ containerId: id, network: "a" })).ip);
    }
    for (const ip of ips) expect(live.has(ip)).toBe(false);
    expect(new Set(ips).size).toBe(ips.length);
    // Released addresses are not reused at once (round robin).
    await again.release(ids[0]!);
    const id = newContainerId();
    await createNetns(again.netnsPath(id));
    const next = await again.attach({ containerId: id, network: "a" });
    expect(next.ip).not.toBe(ips[0]);
    for (const x of [...ids.slice(1), id]) await again.release(x);
    // The first manager reloads its view from disk.
    mgr = await NetworkManager.open({ stateDir, prefix: PREFIX, pool: ["10.231.9.0/24"] });
  });

  it("attach/detach time (median of 20)", async () => {
    const times = {
      netns: [] as number[],
      attach: [] as number[],
      publish: [] as number[],
      release: [] as number[],
    };
    for (let i = 0; i < 20; i++) {
      const id = newContainerId();
      let t = performance.now();
      await createNetns(mgr.netnsPath(id));
      times.netns.push(performance.now() - t);
      t = performance.now();
      await mgr.attach({ containerId: id, network: netA.id });
      times.attach.push(performance.now() - t);
      t = performance.now();
      await mgr.publish(id, netA.id, parsePublish("127.0.0.1::80"));
      times.publish.push(performance.now() - t);
      t = performance.now();
      await mgr.release(id);
      times.release.push(performance.now() - t);
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(1);
    console.log(
      `network timings (median of 20, ms): createNetns ${med(times.netns)}, attach ${med(times.attach)}, ` +
        `publish ${med(times.publish)}, release (unpublish+detach+deleteNetns) ${med(times.release)}`,
    );
    expect(times.attach.length).toBe(20);
  });

  it("detach and cleanupAll leave no veth, bridge, netns, rule or IPAM entry behind", async () => {
    const veth2 = mgr.store.allocations({ containerId: c2.id })[0]!.hostVeth;
    await mgr.detach(c2.id);
    expect(await links()).not.toContain(veth2);
    expect(mgr.store.allocations({ containerId: c2.id })).toEqual([]);
    await expect(mgr.removeNetwork("a")).rejects.toThrow(/connected container/);
    await expect(mgr.removeNetwork("bridge")).rejects.toThrow(/default network/);
    for (const c of [c1, c2, c3, c4, c5]) await mgr.release(c.id);
    await mgr.removeNetwork("c");
    expect(await links()).not.toContain(netC.bridge);
    expect(mgr.store.allocations()).toEqual([]);
    const report = await cleanupAll(PREFIX, stateDir);
    expect(report.links).toEqual(expect.arrayContaining([`${PREFIX}0`, netA.bridge, netB.bridge]));
    expect((await links()).filter((l) => names.owns(l))).toEqual([]);
    expect((await links()).sort()).toEqual([...linksBefore].sort());
    expect(await rulesOf(names)).toEqual([]);
    const mounts = (await run(["cat", "/proc/self/mountinfo"])).stdout;
    expect(mounts).not.toContain(join(stateDir, "netns"));
  });
});
