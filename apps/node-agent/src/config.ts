/**
 * berth-agent's configuration: the only module of the agent that reads process.env (DESIGN §4).
 * Flags win over environment variables; everything is validated with zod once, at start.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { RegistryHostSchema } from "@berth/core";

export const LogLevelSchema = z.enum(["debug", "info", "warn", "error"]);
export type LogLevel = z.infer<typeof LogLevelSchema>;

export const DEFAULT_STATE_DIR = "/var/lib/berth-agent";

const HttpUrlSchema = z
  .string({ error: "is required" })
  .trim()
  .min(1, "is required")
  .transform((s, ctx) => {
    const fail = (message: string) => {
      ctx.issues.push({ code: "custom", message, input: s });
      return z.NEVER;
    };
    if (!URL.canParse(s)) return fail("is not a valid URL");
    const u = new URL(s);
    if (u.protocol !== "http:" && u.protocol !== "https:")
      return fail("must be an http:// or https:// URL");
    if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") {
      return fail("must not carry credentials, a query or a fragment");
    }
    return u.href.replace(/\/+$/, "");
  });

const AbsolutePathSchema = z.string().trim().startsWith("/", "must be an absolute path").max(4096);

export const AgentConfigSchema = z.object({
  /** Base URL of berth-server, e.g. http://127.0.0.1:3000 (no trailing slash). */
  serverUrl: HttpUrlSchema,
  /** One-time join token; ignored once the agent holds a credential. */
  joinToken: z.string().trim().min(10, "is too short").max(256).optional(),
  stateDir: AbsolutePathSchema,
  logLevel: LogLevelSchema,
  /** OCI runtime binary (default: the engine's choice, runc). */
  runtimePath: AbsolutePathSchema.optional(),
  /** OCI runtime by name (`--runtime crun`); the binary is then its default path. */
  runtimeName: z.enum(["runc", "crun"]).optional(),
  /** conmon binary (default: the engine's choice). */
  conmonPath: AbsolutePathSchema.optional(),
  /** Registries (`host[:port]`) spoken to over plain HTTP besides loopback ones, as Docker's. */
  insecureRegistries: z.array(RegistryHostSchema).max(64).optional(),
  /** Name asked for when joining (default: the machine's hostname); e.g. the dev fleet's hosts. */
  nodeName: z
    .string()
    .regex(
      /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/,
      "must be 1-63 letters, digits, _ . - (starting with a letter or digit)",
    )
    .optional(),
  /** Prefix of the agent's bridges, veths and iptables chains (`berth`); `off` = no networking. */
  networkPrefix: z
    .string()
    .regex(/^([a-z]{2,8})$/, "must be 2-8 lowercase letters (or off)")
    .default("berth"),
  /** Seconds between usage samples of every running container (usage accounting). */
  usageIntervalSec: z.coerce
    .number()
    .min(0.2, "must be at least 0.2 seconds")
    .max(3600, "must be at most 3600 seconds")
    .default(10),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const USAGE = `Usage: berth-agent --server URL [--join-token TOKEN] [options]

Runs containers on this host for a berth-server. The agent dials out to the server over one
WebSocket, so the host needs no open inbound port.

Options:
  --server URL          berth-server base URL, http(s)://host:port         (env BERTH_SERVER)
  --join-token TOKEN    one-time join token from \`berth join-token create\`
                        (used once; ignored when a credential is stored)     (env BERTH_JOIN_TOKEN)
  --state-dir DIR       where the agent keeps its credential, outbox and containers
                        (default ${DEFAULT_STATE_DIR})                  (env BERTH_AGENT_STATE_DIR)
  --log-level LEVEL     debug | info | warn | error (default info)          (env BERTH_LOG_LEVEL)
  --runtime NAME|PATH   OCI runtime: runc or crun, or a binary path (default runc;
                        crun needs a pure cgroup v1 or v2 host)              (env BERTH_RUNTIME)
  --conmon PATH         conmon binary (default conmon)                      (env BERTH_CONMON)
  --insecure-registry HOST[:PORT]
                        pull/push over plain HTTP (repeatable; loopback registries
                        always are)           (env BERTH_INSECURE_REGISTRIES, comma-separated)
  --node-name NAME      the node's name asked for at join (default: this machine's hostname;
                        the server appends -2, -3… when it is taken)        (env BERTH_NODE_NAME)
  --network-prefix P    prefix of the agent's bridges (P0), veths and iptables chains
                        (default berth; a dev fleet gives each agent its own; off = no
                        container networking)                     (env BERTH_NETWORK_PREFIX)
  --cleanup-network     remove every bridge, veth, iptables rule, netns and address of the
                        prefix (and the state dir's networks.json), then exit; for
                        after the agent and its containers are gone (no --server needed)
  --usage-interval SEC  seconds between usage samples of each container
                        (default 10)                        (env BERTH_USAGE_INTERVAL)
  -h, --help            print this help and exit

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 fatal error (e.g. join token refused), 2 bad usage.
`;

/** A usage error: main prints its one-line message and exits with code 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export type ConfigOutcome =
  | { kind: "help"; text: string }
  | { kind: "config"; config: AgentConfig }
  /** `--cleanup-network`: remove the prefix's bridges, veths, rules, netns and IPAM, then exit. */
  | { kind: "cleanup-network"; prefix: string; stateDir: string };

const FLAG_NAMES: Record<string, string> = {
  serverUrl: "--server",
  joinToken: "--join-token",
  stateDir: "--state-dir",
  logLevel: "--log-level",
  runtimePath: "--runtime",
  runtimeName: "--runtime",
  conmonPath: "--conmon",
  insecureRegistries: "--insecure-registry",
  nodeName: "--node-name",
  networkPrefix: "--network-prefix",
  usageIntervalSec: "--usage-interval",
};

/** `--runtime` takes a runtime name (runc, crun) or an absolute binary path. */
function runtimeChoice(v: string | undefined): { runtimePath?: string; runtimeName?: string } {
  if (v === undefined) return {};
  return v.startsWith("/") ? { runtimePath: v } : { runtimeName: v };
}

/** Pure: parses argv (without node and script) and an environment into a validated config. */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ConfigOutcome {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: "string" },
        "join-token": { type: "string" },
        "state-dir": { type: "string" },
        "log-level": { type: "string" },
        runtime: { type: "string" },
        conmon: { type: "string" },
        "insecure-registry": { type: "string", multiple: true },
        "node-name": { type: "string" },
        "network-prefix": { type: "string" },
        "cleanup-network": { type: "boolean" },
        "usage-interval": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new ConfigError(`${(e as Error).message.split("\n")[0]} (see berth-agent --help)`);
  }
  if (values.help) return { kind: "help", text: USAGE };

  const str = (v: string | boolean | string[] | undefined) =>
    typeof v === "string" ? v : undefined;
  if (values["cleanup-network"]) {
    const prefix = str(values["network-prefix"]) ?? env.BERTH_NETWORK_PREFIX ?? "berth";
    const stateDir = str(values["state-dir"]) ?? env.BERTH_AGENT_STATE_DIR ?? DEFAULT_STATE_DIR;
    const p = AgentConfigSchema.shape.networkPrefix.safeParse(prefix);
    if (!p.success || p.data === "off")
      throw new ConfigError(`invalid --network-prefix ${JSON.stringify(prefix)}`);
    const d = AbsolutePathSchema.safeParse(stateDir);
    if (!d.success) throw new ConfigError(`invalid --state-dir ${JSON.stringify(stateDir)}`);
    return { kind: "cleanup-network", prefix: p.data, stateDir: d.data };
  }
  const insecure = Array.isArray(values["insecure-registry"])
    ? values["insecure-registry"]
    : (env.BERTH_INSECURE_REGISTRIES ?? "")
        .split(",")
        .map((h) => h.trim())
        .filter((h) => h !== "");
  const nonEmpty = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);
  const raw = {
    serverUrl: str(values.server) ?? nonEmpty(env.BERTH_SERVER),
    joinToken: str(values["join-token"]) ?? nonEmpty(env.BERTH_JOIN_TOKEN),
    stateDir: str(values["state-dir"]) ?? nonEmpty(env.BERTH_AGENT_STATE_DIR) ?? DEFAULT_STATE_DIR,
    logLevel: str(values["log-level"]) ?? nonEmpty(env.BERTH_LOG_LEVEL) ?? "info",
    ...runtimeChoice(str(values.runtime) ?? nonEmpty(env.BERTH_RUNTIME)),
    conmonPath: str(values.conmon) ?? nonEmpty(env.BERTH_CONMON),
    ...(insecure.length > 0 ? { insecureRegistries: insecure } : {}),
    nodeName: str(values["node-name"]) ?? nonEmpty(env.BERTH_NODE_NAME),
    networkPrefix: str(values["network-prefix"]) ?? nonEmpty(env.BERTH_NETWORK_PREFIX),
    usageIntervalSec: str(values["usage-interval"]) ?? nonEmpty(env.BERTH_USAGE_INTERVAL),
  };
  if (raw.serverUrl === undefined) {
    throw new ConfigError(
      "missing server: pass --server URL or set BERTH_SERVER (see berth-agent --help)",
    );
  }
  const r = AgentConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = String(issue.path[0] ?? "");
    const flag = FLAG_NAMES[key] ?? key;
    const shown =
      key === "joinToken" ? "" : ` ${JSON.stringify((raw as Record<string, unknown>)[key])}`;
    throw new ConfigError(`invalid ${flag}${shown}: ${issue.message}`);
  }
  return { kind: "config", config: r.data };
}

/** Reads this process's argv and environment. */
export function loadConfig(): ConfigOutcome {
  return parseConfig(process.argv.slice(2), process.env);
}
