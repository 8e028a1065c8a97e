/**
 * Root integration: a port published on one dev-fleet host answers from another one. A real
 * berth-server on the fleet's bridge address, two real agents in their own network namespaces;
 * `berth run --node <A> -d -p 8080:80` a busybox httpd on host A, and the host's curl inside host
 * B's namespace (nsenter) fetches `<A's address>:8080` — DNAT on A's eth0, routed to the container's
 * bridge because the fleet turns on ip_forward in each host's namespace (never the machine's own).
 * Stop removes the port as seen from B, start brings it back; destroy() leaves nothing.
 * Traffic stays on the fleet's bridge and inside the namespaces the test created.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { run } from "./exec";
import { createFleet, destroyFleet, type Fleet, type FleetHost } from "./fleet";
import { fleetNames } from "./names";
import { berthCli, startServer, type TestServer } from "./server";

const prefix = `bfp${(process.pid % 1000).toString(36)}`;
const names = fleetNames(prefix);
const password = "fleet-password-1";
const tmp = mkdtempSync(join(tmpdir(), "berth-fleet-ports-"));
const cli = berthCli(join(tmp, "cli"));
const HOST_PORT = 8080;
const FORWARD = "/proc/sys/net/ipv4/ip_forward";

/** The machine's links of this fleet (other tests may add and remove their own meanwhile). */
const ourLinks = async () =>
  (JSON.parse((await run(["ip", "-j", "link"])).stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((l) => l.startsWith(prefix));
const inHost = (h: FleetHost, argv: string[]) =>
  run(["nsenter", `--net=${h.netns}`, "--", ...argv], { allowFailure: true });
/** The host's curl inside `from`'s namespace (busybox wget segfaults on this machine). */
const curl = (from: FleetHost, to: FleetHost) =>
  inHost(from, [
    "curl",
    "-sS",
    "--noproxy",
    "*",
    "--max-time",
    "2",
    `http://${to.address}:${HOST_PORT}/index.html`,
  ]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `curl` until `ok` holds (httpd starts asynchronously; rules are rewritten on events). */
async function until(
  what: string,
  probe: () => Promise<{ code: number | null; stdout: string; stderr: string }>,
  ok: (r: { code: number | null; stdout: string }) => boolean,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!ok(last) && Date.now() < deadline) {
    await sleep(200);
    last = await probe();
  }
  if (!ok(last))
    throw new Error(`${what}: last exit ${last.code}, ${last.stdout.trim()} ${last.stderr.trim()}`);
  return last;
}

let server: TestServer | undefined;
let fleet: Fleet | undefined;
let forwardBefore = "";
let natBefore = "";

beforeAll(async () => {
  expect(await ourLinks()).toEqual([]);
  forwardBefore = readFileSync(FORWARD, "utf8");
  natBefore = (await run(["iptables-save", "-t", "nat"])).stdout;
  fleet = await createFleet({
    hosts: 2,
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

describe("dev fleet: a published port reached from another test host", () => {
  let id = "";
  const body = `page-of-${prefix}`;

  it("forwards inside each host's namespace only, never on the machine", async () => {
    for (const h of fleet!.hosts)
      expect((await inHost(h, ["cat", FORWARD])).stdout.trim()).toBe("1");
    expect(readFileSync(FORWARD, "utf8")).toBe(forwardBefore);
  });

  it("answers on host A's address from host B's namespace", async () => {
    const [a, b] = fleet!.hosts as [FleetHost, FleetHost];
    const r = await cli([
      "run",
      "-d",
      "--node",
      a.name,
      "-p",
      `${HOST_PORT}:80`,
      "busybox",
      "sh",
      "-c",
      `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 80 -h /www`,
    ]);
    id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12,64}$/);
    const got = await until(
      "the port from host B",
      () => curl(b, a),
      (x) => x.code === 0,
    );
    expect(got.stdout).toBe(`${body}\n`);
    // The DNAT rule lives in A's namespace, under A's agent prefix; none in B's or the machine's.
    const natA = (await inHost(a, ["iptables-save", "-t", "nat"])).stdout;
    expect(natA).toMatch(
      new RegExp(`-A ${a.networkPrefix.toUpperCase()}-DNAT .*--dport ${HOST_PORT} `),
    );
    const natB = (await inHost(b, ["iptables-save", "-t", "nat"])).stdout;
    expect(natB).not.toContain(`--dport ${HOST_PORT}`);
    expect(natB).not.toContain(a.networkPrefix.toUpperCase());
    expect((await run(["iptables-save", "-t", "nat"])).stdout).not.toContain(
      `${a.networkPrefix.toUpperCase()}-`,
    );
    // The machine itself reaches it too, over the fleet bridge (bridged: no forwarding here).
    const fromMachine = await run(
      [
        "curl",
        "-sS",
        "--noproxy",
        "*",
        "--max-time",
        "2",
        `http://${a.address}:${HOST_PORT}/index.html`,
      ],
      { allowFailure: true },
    );
    expect(fromMachine.stdout).toBe(`${body}\n`);
    // Nothing answers on B's own address (the port is A's).
    expect((await curl(a, b)).code).not.toBe(0);
  });

  it("stop removes the port as seen from host B; start brings it back", async () => {
    const [a, b] = fleet!.hosts as [FleetHost, FleetHost];
    await cli(["stop", "-t", "1", id]);
    // Refused at once (no rule → A's own stack answers RST), not a time-out.
    const gone = await until(
      "the port to go away",
      () => curl(b, a),
      (x) => x.code !== 0,
    );
    expect(gone.code).toBe(7); // curl: "couldn't connect"
    expect((await inHost(a, ["iptables-save", "-t", "nat"])).stdout).not.toContain(
      `--dport ${HOST_PORT}`,
    );
    await cli(["start", id]);
    const back = await until(
      "the port to come back",
      () => curl(b, a),
      (x) => x.code === 0,
    );
    expect(back.stdout).toBe(`${body}\n`);
  });

  it("destroy() leaves no link, rule, mount or dir; the machine's ip_forward is unchanged", async () => {
    const f = fleet!;
    const report = await f.destroy();
    expect(report.agentsStopped).toBe(2);
    expect(await ourLinks()).toEqual([]);
    expect(existsSync(names.runDir)).toBe(false);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(names.runDir);
    expect((await run(["iptables", "-w", "-S", "FORWARD"])).stdout).not.toContain(
      names.ruleComment,
    );
    // Other tests may change the machine's own tables meanwhile: only ours must be absent.
    const nat = (await run(["iptables-save", "-t", "nat"])).stdout;
    for (const h of f.hosts) expect(nat).not.toContain(`${h.networkPrefix.toUpperCase()}-`);
    expect(natBefore).not.toContain(prefix.toUpperCase());
    expect(readFileSync(FORWARD, "utf8")).toBe(forwardBefore);
  });
});
