/**
 * Root integration: a real berth-server listening on the fleet's bridge address and a 3-host dev
 * fleet of real agents, each in its own network namespace. All three join and show as online
 * nodes, each runs a container whose output comes back, and destroy() leaves nothing behind.
 * Traffic stays on the fleet's bridge (never routed off the machine).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ownHierarchies } from "./cgroups";
import { run } from "./exec";
import { createFleet, destroyFleet, type Fleet } from "./fleet";
import { fleetNames } from "./names";
import { berthCli, startServer, type TestServer } from "./server";

const prefix = `bft${(process.pid % 1000).toString(36)}`;
const names = fleetNames(prefix);
const password = "fleet-password-1";
const tmp = mkdtempSync(join(tmpdir(), "berth-fleet-test-"));
const cli = berthCli(join(tmp, "cli"));

const links = async () =>
  (JSON.parse((await run(["ip", "-j", "link"])).stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .sort();
const NodesSchema = z.array(z.looseObject({ name: z.string(), status: z.string() }));

let server: TestServer | undefined;
let fleet: Fleet | undefined;
let linksBefore: string[] = [];

beforeAll(async () => {
  linksBefore = await links();
  fleet = await createFleet({
    hosts: 3,
    prefix,
    serverUrl: async (addr) => {
      server = await startServer({
        host: addr,
        dataDir: join(tmp, "server"),
        adminPassword: password,
      });
      await cli(["login", "--server", server.url, "-u", "admin", "--password-stdin"], {
        input: `${password}\n`,
      });
      return server.url;
    },
    joinToken: async () =>
      z
        .object({ token: z.string() })
        .parse(JSON.parse((await cli(["join-token", "create", "--json"])).stdout)).token,
  });
});

afterAll(async () => {
  await destroyFleet(prefix).catch(() => undefined);
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("dev fleet (3 hosts, one server)", () => {
  it("puts each host in its own namespace, address and cgroup subtree", async () => {
    const f = fleet!;
    expect(f.hosts.map((h) => h.name)).toEqual([`${prefix}-h1`, `${prefix}-h2`, `${prefix}-h3`]);
    expect(new Set(f.hosts.map((h) => h.address)).size).toBe(3);
    for (const h of f.hosts) {
      const inside = (
        JSON.parse(
          (
            await run([
              "nsenter",
              `--net=${h.netns}`,
              "--",
              "ip",
              "-j",
              "-4",
              "addr",
              "show",
              "eth0",
            ])
          ).stdout,
        ) as { addr_info: { local: string }[] }[]
      ).flatMap((l) => l.addr_info.map((a) => a.local));
      expect(inside).toEqual([h.address]);
      // Whatever the agent wires in its namespace carries its own network prefix.
      const own = (
        JSON.parse(
          (await run(["nsenter", `--net=${h.netns}`, "--", "ip", "-j", "link"])).stdout,
        ) as { ifname: string }[]
      ).map((l) => l.ifname);
      for (const l of own.filter((x) => x !== "lo" && x !== "eth0"))
        expect(l.startsWith(h.networkPrefix)).toBe(true);
      // The agent runs in the namespace and in the host's own groups.
      const ns = (await run(["readlink", `/proc/${h.pid}/ns/net`])).stdout.trim();
      const pinned = (
        await run(["nsenter", `--net=${h.netns}`, "--", "readlink", "/proc/self/ns/net"])
      ).stdout.trim();
      expect(ns).toBe(pinned);
      const cg = readFileSync(`/proc/${h.pid}/cgroup`, "utf8");
      expect(cg).toContain(`/${names.cgroupName}/${h.name}`);
      // Reaches the server over the bridge; nothing routes off the machine.
      const route = (
        await run(["nsenter", `--net=${h.netns}`, "--", "ip", "route", "get", "192.0.2.1"])
      ).stdout;
      expect(route).toContain(`via ${f.serverAddress}`);
    }
  });

  it("shows three online nodes", async () => {
    const deadline = Date.now() + 30_000;
    let nodes: z.infer<typeof NodesSchema> = [];
    while (Date.now() < deadline) {
      nodes = NodesSchema.parse(JSON.parse((await cli(["nodes", "ls", "--json"])).stdout));
      if (fleet!.hosts.every((h) => nodes.some((n) => n.name === h.name && n.status === "online")))
        break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const ours = nodes.filter((n) => n.name.startsWith(`${prefix}-`));
    expect(ours.map((n) => [n.name, n.status]).sort()).toEqual(
      fleet!.hosts.map((h) => [h.name, "online"]),
    );
  });

  it("runs a container on each host and gets its output back", async () => {
    for (const h of fleet!.hosts) {
      const r = await cli([
        "run",
        "--rm",
        "--node",
        h.name,
        "busybox",
        "echo",
        `hello from ${h.name}`,
      ]);
      expect(r.stdout).toBe(`hello from ${h.name}\n`);
    }
    // A detached one lands in its host's cgroup subtree, not a shared `berth` parent.
    const h2 = fleet!.hosts[1]!;
    const id = (
      await cli(["run", "-d", "--node", h2.name, "busybox", "sleep", "300"])
    ).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12,64}$/);
    const ps = JSON.parse((await cli(["ps", "--json"])).stdout) as { id: string }[];
    const full = ps.find((c) => c.id.startsWith(id))?.id ?? id;
    const groups = h2.cgroups.map((d) => join(d, "berth", full));
    expect(groups.some((g) => existsSync(g))).toBe(true);
    const logs = await cli(["logs", id]);
    expect(logs.code).toBe(0);
  });

  it("destroy() leaves no netns, veth, bridge, agent, cgroup, rule or dir behind", async () => {
    const f = fleet!;
    const pids = f.hosts.map((h) => h.pid!);
    const report = await f.destroy();
    expect(report.agentsStopped).toBe(3);
    // The detached container and its monitor outlive their agent: destroy killed them.
    expect(report.processesKilled).toBeGreaterThanOrEqual(2);
    // Only this fleet's links: other tests on the machine may add and remove theirs meanwhile.
    const ours = (l: string[]) => l.filter((x) => x.startsWith(prefix));
    expect(ours(await links())).toEqual(ours(linksBefore));
    expect(ours(linksBefore)).toEqual([]);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(names.runDir)).toBe(false);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8");
    expect(mounts).not.toContain(names.runDir);
    for (const h of ownHierarchies())
      expect(existsSync(join(h.ownDir, names.cgroupName))).toBe(false);
    expect((await run(["iptables", "-w", "-S", "FORWARD"])).stdout).not.toContain(
      names.ruleComment,
    );
    // Idempotent: a second down finds nothing to do.
    expect(await destroyFleet(prefix)).toEqual({
      agentsStopped: 0,
      processesKilled: 0,
      cgroupsRemoved: 0,
      mountsRemoved: 0,
      linksRemoved: 0,
      rulesRemoved: 0,
    });
  });
});
