/**
 * iptables rules of the network library. All of them live in chains of the prefix
 * (names.ts), hooked once from the built-in chains; the chains' content is a pure function of
 * the store (networks + published ports) and is rewritten whole with ONE `iptables-restore
 * --noflush` per change: declaring an existing user chain in --noflush mode flushes it, so a
 * rewrite is atomic (one nf_tables transaction per table), idempotent and self-healing, and
 * never fails on a rule that is already gone.
 * The restore binary matches `iptables --version` (nf_tables or legacy backend).
 */
import { run } from "../sys/exec";
import type { NetNames } from "./names";
import type { NetworkRecord, PortBinding } from "./network-store";

export interface IptablesTools {
  backend: "nf_tables" | "legacy";
  restore: string[];
  save: string[];
}

let detected: Promise<IptablesTools> | undefined;

/** Picks iptables-nft-restore or iptables-legacy-restore after the host's `iptables`. */
export function detectIptables(): Promise<IptablesTools> {
  detected ??= (async () => {
    const r = await run(["iptables", "--version"], { allowFailure: true });
    const legacy = /legacy/.test(r.stdout);
    const nft = /nf_tables/.test(r.stdout);
    if (nft)
      return {
        backend: "nf_tables",
        restore: ["iptables-nft-restore", "--noflush"],
        save: ["iptables-nft-save"],
      };
    if (legacy)
      return {
        backend: "legacy",
        restore: ["iptables-legacy-restore", "--noflush", "-w", "5"],
        save: ["iptables-legacy-save"],
      };
    return {
      backend: "legacy",
      restore: ["iptables-restore", "--noflush", "-w", "5"],
      save: ["iptables-save"],
    };
  })();
  return detected;
}

export type RuleTable = "filter" | "nat";

/** The content of the prefix's chains for these networks and published ports (pure). */
export function renderRules(
  names: NetNames,
  networks: readonly NetworkRecord[],
  ports: readonly PortBinding[],
): string {
  const t = renderTables(names, networks, ports);
  return t.filter + t.nat;
}

/**
 * Per table: each table is one nf_tables transaction (~10 ms here), so a port change rewrites
 * only `nat`, and only network changes rewrite `filter`.
 */
export function renderTables(
  names: NetNames,
  networks: readonly NetworkRecord[],
  ports: readonly PortBinding[],
): Record<RuleTable, string> {
  const c = names.chains;
  const f: string[] = [
    "*filter",
    `:${c.forward} - [0:0]`,
    `:${c.isolation1} - [0:0]`,
    `:${c.isolation2} - [0:0]`,
    `-A ${c.forward} -j ${c.isolation1}`,
  ];
  const n: string[] = ["*nat", `:${c.dnat} - [0:0]`, `:${c.postrouting} - [0:0]`];
  for (const net of networks) {
    const br = net.bridge;
    if (net.internal) {
      f.push(`-A ${c.isolation1} -i ${br} ! -o ${br} -j DROP`);
      f.push(`-A ${c.isolation1} ! -i ${br} -o ${br} -j DROP`);
    } else {
      f.push(`-A ${c.isolation1} -i ${br} ! -o ${br} -j ${c.isolation2}`);
    }
    f.push(`-A ${c.isolation2} -o ${br} -j DROP`);
    // Bridged frames only reach FORWARD with br_netfilter; icc=false is enforced without it
    // by bridge port isolation (network-manager.ts), this rule is the second lock.
    f.push(`-A ${c.forward} -i ${br} -o ${br} -j ${net.icc ? "ACCEPT" : "DROP"}`);
    if (!net.internal) {
      f.push(`-A ${c.forward} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
      f.push(`-A ${c.forward} -o ${br} -m conntrack --ctstate DNAT -j ACCEPT`);
      f.push(`-A ${c.forward} -i ${br} ! -o ${br} -j ACCEPT`);
      // 127.0.0.1:hostPort → container: the bridge has route_localnet=1; the source is
      // rewritten to the gateway so that the reply comes back.
      n.push(`-A ${c.postrouting} -s 127.0.0.0/8 -o ${br} -j MASQUERADE`);
      if (net.masquerade) n.push(`-A ${c.postrouting} -s ${net.subnet} ! -o ${br} -j MASQUERADE`);
    }
  }
  for (const p of ports) {
    const dst = p.hostIp === "0.0.0.0" ? "" : `-d ${p.hostIp}/32 `;
    n.push(
      `-A ${c.dnat} ${dst}-p ${p.protocol} -m ${p.protocol} --dport ${p.hostPort} ` +
        `-m comment --comment ${p.containerId.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64)} ` +
        `-j DNAT --to-destination ${p.containerIp}:${p.containerPort}`,
    );
  }
  f.push("COMMIT");
  n.push("COMMIT");
  return { filter: `${f.join("\n")}\n`, nat: `${n.join("\n")}\n` };
}

/** Hooks from the built-in chains into the prefix's chains: [table, chain, rule spec]. */
export function hookRules(names: NetNames): [string, string, string][] {
  const c = names.chains;
  return [
    ["filter", "FORWARD", `-j ${c.forward}`],
    ["nat", "PREROUTING", `-m addrtype --dst-type LOCAL -j ${c.dnat}`],
    ["nat", "OUTPUT", `-m addrtype --dst-type LOCAL -j ${c.dnat}`],
    ["nat", "POSTROUTING", `-j ${c.postrouting}`],
  ];
}

export async function iptablesRestore(text: string): Promise<void> {
  const t = await detectIptables();
  await run(t.restore, { input: text });
}

export async function iptablesSave(): Promise<string> {
  const t = await detectIptables();
  return (await run(t.save)).stdout;
}

/** Splits iptables-save output into table → lines. */
function byTable(save: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) {
      cur = [];
      m.set(line.slice(1).trim(), cur);
    } else if (cur && line && !line.startsWith("#")) cur.push(line);
  }
  return m;
}

/**
 * Writes the chains of `tables` for the current state and adds the missing hooks, in one
 * restore (one iptables-save first to see which hooks exist, only when `checkHooks`).
 */
export async function applyRules(
  names: NetNames,
  networks: readonly NetworkRecord[],
  ports: readonly PortBinding[],
  opts: { tables: readonly RuleTable[]; checkHooks: boolean },
): Promise<void> {
  const rendered = renderTables(names, networks, ports);
  let text = opts.tables.map((t) => rendered[t]).join("");
  if (opts.checkHooks) {
    const tables = byTable(await iptablesSave());
    const missing = hookRules(names).filter(
      ([table, chain, spec]) => !(tables.get(table) ?? []).includes(`-A ${chain} ${spec}`),
    );
    const extra: string[] = [];
    for (const table of opts.tables) {
      const hooks = missing.filter(([t]) => t === table);
      if (hooks.length === 0) continue;
      extra.push(`*${table}`);
      // FORWARD: first, ahead of other firewalls' ACCEPT/DROP rules; nat: appended.
      for (const [, chain, spec] of hooks)
        extra.push(chain === "FORWARD" ? `-I ${chain} 1 ${spec}` : `-A ${chain} ${spec}`);
      extra.push("COMMIT");
    }
    if (extra.length > 0) text += `${extra.join("\n")}\n`;
  }
  await iptablesRestore(text);
}

/** Removes every hook and chain of the prefix (whatever is left of it). */
export async function removeRules(names: NetNames): Promise<void> {
  const tables = byTable(await iptablesSave());
  const ours = new Set(Object.values(names.chains));
  const out: string[] = [];
  for (const [table, lines] of tables) {
    const del: string[] = [];
    const chains: string[] = [];
    for (const l of lines) {
      const decl = /^:(\S+)/.exec(l);
      if (decl && ours.has(decl[1]!)) chains.push(decl[1]!);
      const rule = /^-A (\S+) (.*)$/.exec(l);
      if (rule && !ours.has(rule[1]!)) {
        const target = /-j (\S+)/.exec(rule[2]!)?.[1];
        if (target && ours.has(target)) del.push(`-D ${rule[1]} ${rule[2]}`);
      }
    }
    if (del.length === 0 && chains.length === 0) continue;
    out.push(
      `*${table}`,
      ...del,
      ...chains.map((c) => `-F ${c}`),
      ...chains.map((c) => `-X ${c}`),
      "COMMIT",
    );
  }
  if (out.length > 0) await iptablesRestore(`${out.join("\n")}\n`);
}

/** Lines of iptables-save that mention the prefix's chains (for tests and diagnostics). */
export async function rulesOf(names: NetNames): Promise<string[]> {
  const ours = Object.values(names.chains);
  return (await iptablesSave())
    .split("\n")
    .filter((l) => ours.some((c) => new RegExp(`(^:|\\s|-j )${c}(\\s|$)`).test(l)));
}
