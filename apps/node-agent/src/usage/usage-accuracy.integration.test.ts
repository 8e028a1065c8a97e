/**
 * Usage accounting accuracy, end to end: a real berth-server (apps/web/server.ts, temp data dir,
 * free port) and the real berth-agent (src/main.ts, `--usage-interval 1`) joined to it. Five
 * busybox containers run through the CLI:
 *   - cpu: burns CPU for 24 s; the truth is its shell's `times` (its own and its children's user
 *     + sys), because on a shared host "one core" is not what it gets;
 *   - short: burns for 8 s and exits while the agent is down, so its last seconds are billed
 *     only by the final sample the restarted agent takes when it adopts the exit;
 *   - mem: writes 100 MiB into a tmpfs and holds it; the truth is 100 MiB × the time it held it
 *     (/proc/uptime before and after, printed by the container);
 *   - listener + sender: the sender sends 20 × 1,000,000 bytes over TCP to the listener (both on
 *     the agent's bridge), which prints the byte count it got. Accounting counts bytes on the
 *     wire (the host veth's counters), i.e. the payload plus TCP/IP/Ethernet headers (≈ 4% at a
 *     1500 MTU), so the truth is what each container's own interface counted (/proc/net/dev in
 *     its network namespace, the other end of the veth pair), printed by the container after the
 *     transfer; the payload bounds it from below.
 * Meanwhile the agent is SIGKILLed and restarted, and the server is stopped for ~6 s (the
 * agent's link is cut) and started again. The report (`berth usage --format json`) must match
 * within 2% (CPU), 5% (memory) and 1% (bytes). Containers, processes and temp dirs go even on
 * failure.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { UsageReportSchema } from "@berth/core";
import { AgentServerStack, stopProcess } from "../containers/testing/agent-server-stack";
import { rootOrCi, tempStateDir } from "../containers/testing/integration-fixture";

const ENABLED = rootOrCi("usage accuracy (agent + server) needs root", process.env.CI === "true");

const MiB = 1024 * 1024;
const HOLD_MIB = 100;
const CHUNKS = 20;
const CHUNK = 1_000_000;
const SENT = CHUNKS * CHUNK;

/** Server, agent (sampling usage every second) and CLI; probes poll every 200 ms. */
const stack = new AgentServerStack({
  env: process.env,
  tmp: tempStateDir("berth-usage-accuracy-", ENABLED),
  netPrefix: "bnusa",
  password: "usage-accuracy-password",
  pollMs: 200,
  agentArgs: ["--usage-interval", "1"],
});
const { agentDir } = stack;
const cli = (...args: string[]) => stack.cli(...args);
const waitFor = stack.waitFor.bind(stack);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PsSchema = z.array(z.looseObject({ id: z.string(), name: z.string(), state: z.string() }));
const ps = () => PsSchema.parse(JSON.parse(cli("ps", "-a", "--json")));

afterAll(async () => {
  if (ENABLED) await stack.teardown();
}, 240_000);

/**
 * `0m0.010s 0m0.020s` lines of ash's `times`: the shell's own user and sys time, then its
 * children's (the burner). Their sum is what the container's processes used after the shell
 * started (runc's init before it is not counted: a few ms).
 */
function shellCpuSeconds(log: string): number {
  const lines = [...log.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)];
  if (lines.length < 2) throw new Error(`no times output in ${JSON.stringify(log)}`);
  return lines
    .slice(0, 2)
    .reduce((a, c) => a + Number(c[1]) * 60 + Number(c[2]) + Number(c[3]) * 60 + Number(c[4]), 0);
}

/** rx/tx bytes summed over the non-loopback interfaces of a /proc/net/dev dump. */
function ifaceBytes(log: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const m of log.matchAll(/^\s*([\w.@-]+):\s*(\d+)(?:\s+\d+){7}\s+(\d+)/gm)) {
    if (m[1] === "lo") continue;
    rx += Number(m[2]);
    tx += Number(m[3]);
  }
  if (rx === 0 && tx === 0) throw new Error(`no interface counters in ${JSON.stringify(log)}`);
  return { rx, tx };
}

function within(actual: number, expected: number, tolerance: number, what: string) {
  const err = Math.abs(actual - expected) / expected;
  console.log(
    `usage accuracy: ${what}: reported ${actual.toPrecision(6)}, expected ${expected.toPrecision(6)}, error ${(err * 100).toFixed(2)}% (limit ${tolerance * 100}%)`,
  );
  expect(err, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe.runIf(ENABLED)("usage accounting accuracy with the real agent and server", () => {
  it("CPU, memory and bytes match within 2/5/1% across an agent kill and a cut link", async () => {
    await stack.startServer();
    await stack.startAgent(await stack.joinToken());
    const login = stack.login();
    expect(login.status, login.stderr).toBe(0);

    const from = new Date(Date.now() - 60_000).toISOString();
    const tag = `ua-${process.pid}`;
    const run = (name: string, ...args: string[]) =>
      cli("run", "-d", "--name", `${tag}-${name}`, ...args).trim();
    // nc -e hands the socket to the program as stdin/stdout: the count goes to a file first.
    const listener = run(
      "listener",
      "busybox",
      "sh",
      "-c",
      `nc -l -p 9000 -e sh -c 'wc -c > /tmp/n'; cat /tmp/n; cat /proc/net/dev`,
    );
    const inspect = cli("inspect", listener);
    const ip = /"(?:IPAddress|ip)":\s*"(\d+\.\d+\.\d+\.\d+)"/.exec(inspect)?.[1];
    expect(ip, inspect).toBeDefined();
    const cpu = run("cpu", "busybox", "sh", "-c", `timeout 24 sh -c 'while :; do :; done'; times`);
    const mem = run(
      "mem",
      "--tmpfs",
      "/mem:size=200m",
      "busybox",
      "sh",
      "-c",
      `a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/mem/x bs=${MiB} count=${HOLD_MIB} 2>/dev/null; sleep 24; b=$(cut -d' ' -f1 /proc/uptime); echo "held $a $b"`,
    );
    const sender = run(
      "sender",
      "busybox",
      "sh",
      "-c",
      `i=0; while [ $i -lt ${CHUNKS} ]; do head -c ${CHUNK} /dev/zero; sleep 1; i=$((i+1)); done | nc ${ip} 9000; sleep 1; cat /proc/net/dev`,
    );

    // Burns for 8 s: it exits while the agent is down (killed 6 s from now), so only the final
    // sample taken when the restarted agent adopts the exit bills its last seconds.
    const short = run(
      "short",
      "busybox",
      "sh",
      "-c",
      `timeout 8 sh -c 'while :; do :; done'; times`,
    );

    // The agent dies mid-way and comes back; then the server goes away for a while (the
    // agent's link is cut and its samples wait on its disk) and comes back.
    await sleep(6000);
    await stopProcess(stack.agent, "SIGKILL");
    await sleep(3000);
    await stack.startAgent();
    await sleep(3000);
    await stopProcess(stack.server, "SIGTERM");
    await sleep(6000);
    await stack.startServer();
    await stack.agentConnected();

    const ids = [cpu, mem, sender, listener, short];
    await waitFor(
      "every container to exit",
      () =>
        ps()
          .filter((c) => ids.includes(c.id))
          .every((c) => c.state === "exited") || undefined,
      90_000,
    );
    // Everything the agent sampled has been acked (its spool is empty) after the last exit.
    const spool = join(agentDir, "usage", "spool.jsonl");
    await waitFor(
      "the usage spool to drain",
      () => (statSync(spool).size === 0 ? true : undefined),
      60_000,
    );

    const report = UsageReportSchema.parse(
      JSON.parse(
        cli("usage", "--by", "container", "--from", from, "--to", "now", "--format", "json"),
      ),
    );
    const row = (id: string) => {
      const r = report.rows.find((x) => x.key === id);
      expect(r, `a row for ${id}`).toBeDefined();
      return r!;
    };

    within(row(cpu).cpuCoreSeconds, shellCpuSeconds(cli("logs", cpu)), 0.02, "CPU core-seconds");
    within(
      row(short).cpuCoreSeconds,
      shellCpuSeconds(cli("logs", short)),
      0.02,
      "CPU core-seconds of a container that exited while the agent was down",
    );

    const held = /held ([\d.]+) ([\d.]+)/.exec(cli("logs", mem));
    expect(held, "the mem container's hold times").not.toBeNull();
    const heldSec = Number(held![2]) - Number(held![1]);
    within(
      row(mem).memoryGbHours,
      (HOLD_MIB * MiB * heldSec) / 1e9 / 3600,
      0.05,
      "memory GB-hours",
    );

    const listenerLog = cli("logs", listener);
    expect(Number(listenerLog.split("\n")[0]), "bytes the listener read").toBe(SENT);
    const sent = ifaceBytes(cli("logs", sender)).tx;
    const received = ifaceBytes(listenerLog).rx;
    expect(sent).toBeGreaterThan(SENT);
    expect(received).toBeGreaterThan(SENT);
    within(row(sender).networkTxGb * 1e9, sent, 0.01, "bytes sent (wire)");
    within(row(listener).networkRxGb * 1e9, received, 0.01, "bytes received (wire)");
    console.log(
      `usage accuracy: payload ${SENT} bytes, ${(((sent - SENT) / SENT) * 100).toFixed(2)}% headers on the wire`,
    );

    // Totals add up, and the CSV carries the same numbers.
    const sum = report.rows.reduce((a, r) => a + r.cpuCoreSeconds, 0);
    expect(report.totals.cpuCoreSeconds).toBeCloseTo(sum, 9);
    const csv = cli("usage", "--by", "container", "--from", from, "--to", "now", "--format", "csv");
    expect(csv).toContain(`${cpu},`);
  }, 300_000);
});
