/** What the agent tells the server about its node (NodeFacts in @berth/core). */
import { readFile } from "node:fs/promises";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import { NodeFactsSchema, type NodeFacts } from "@berth/core";

export interface FactsInputs {
  cgroup: NodeFacts["cgroup"];
  runtime: NodeFacts["runtime"];
  monitor: NodeFacts["monitor"];
  agentVersion: string;
  runtimes?: NodeFacts["runtimes"];
}

export function parseOsRelease(text: string): string | undefined {
  const m = /^PRETTY_NAME=(.*)$/m.exec(text);
  if (!m) return undefined;
  return m[1]!
    .trim()
    .replace(/^"(.*)"$/, "$1")
    .replace(/^'(.*)'$/, "$1");
}

export async function collectFacts(i: FactsInputs): Promise<NodeFacts> {
  const osRelease = await readFile("/etc/os-release", "utf8").catch(() => "");
  return NodeFactsSchema.parse({
    hostname: hostname(),
    kernel: release(),
    os: parseOsRelease(osRelease) ?? "Linux",
    arch: arch() === "x64" ? "amd64" : arch(),
    cpus: Math.max(1, cpus().length),
    memoryBytes: totalmem(),
    cgroup: i.cgroup,
    runtime: i.runtime,
    monitor: i.monitor,
    agentVersion: i.agentVersion,
    ...(i.runtimes === undefined ? {} : { runtimes: i.runtimes }),
  });
}
