/**
 * cleanupAll: removes everything the network library made under one prefix — iptables hooks
 * and chains, host veth ends, bridges — and, given the state dir, every netns pinned under
 * `<stateDir>/netns` plus the store (IPAM entries, ports). Used by tests and by
 * `berth-agent --cleanup`. Only names of the prefix are touched (names.ts).
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../sys/exec";
import { isErrno } from "../sys/fs";
import { readMountInfo } from "../sys/mount";
import { removeRules } from "./iptables";
import { netNames } from "./names";
import { deleteNetns } from "./netns";

export interface CleanupReport {
  links: string[];
  netns: string[];
}

export async function cleanupAll(prefix: string, stateDir?: string): Promise<CleanupReport> {
  const names = netNames(prefix);
  await removeRules(names);
  const r = await run(["ip", "-j", "link", "show"]);
  const links = (JSON.parse(r.stdout || "[]") as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => names.owns(n));
  // Veth ends first (deleting one deletes its peer), then the bridges.
  const ordered = [
    ...links.filter((n) => n.startsWith(`${names.prefix}_`)),
    ...links.filter((n) => !n.startsWith(`${names.prefix}_`)),
  ];
  if (ordered.length > 0)
    await run(["ip", "-force", "-batch", "-"], {
      input: ordered.map((n) => `link del ${n}\n`).join(""),
      allowFailure: true,
    });
  const netns: string[] = [];
  if (stateDir !== undefined) {
    const dir = join(stateDir, "netns");
    const paths = new Set<string>();
    try {
      for (const f of await readdir(dir)) paths.add(join(dir, f));
    } catch (e) {
      if (!isErrno(e, "ENOENT")) throw e;
    }
    for (const m of await readMountInfo())
      if (m.fsType === "nsfs" && m.mountPoint.startsWith(`${dir}/`)) paths.add(m.mountPoint);
    for (const p of paths) {
      await deleteNetns(p);
      netns.push(p);
    }
    await rm(join(stateDir, "networks.json"), { force: true });
  }
  return { links: ordered, netns };
}
