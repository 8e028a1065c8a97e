/**
 * berth-agent's composition root: config → engine (ContainerService) → credential (join once)
 * → outbox → AgentClient. Logs go to stderr as one JSON object per line.
 * SIGINT/SIGTERM close the client and the engine, never the containers (each has its own
 * monitor process), and exit 0; the next start adopts them.
 */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { ConfigError, loadConfig, type AgentConfig } from "./config";
import { AgentClient } from "./control/agent-client";
import { detectCgroups, type CgroupLayout } from "./cgroups/detect";
import { readSubtreeUsage } from "./cgroups/subtree-usage";
import {
  AgentStartupError,
  credentialPath,
  ensureCredential,
  writeCredential,
} from "./control/credentials";
import { createJsonLogger, type Logger } from "./control/logger";
import { Outbox } from "./control/outbox";
import { finalSampleHook, UsageSampler } from "./usage/usage-sampler";
import { UsageSpool } from "./usage/usage-spool";

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<number> {
  let config: AgentConfig;
  try {
    const outcome = loadConfig();
    if (outcome.kind === "help") {
      process.stdout.write(outcome.text);
      return 0;
    }
    if (outcome.kind === "cleanup-network") {
      const { cleanupAll } = await import("./network/cleanup");
      const r = await cleanupAll(outcome.prefix, outcome.stateDir);
      process.stdout.write(
        `removed ${r.links.length} interface(s) and ${r.netns.length} netns of prefix ${outcome.prefix}\n`,
      );
      return 0;
    }
    config = outcome.config;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`berth-agent: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }

  const log = createJsonLogger(config.logLevel, (line) => process.stderr.write(line));
  const shutdown = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info("signal received: shutting down (containers keep running)", { signal: sig });
      shutdown.abort(new Error(`stopped by ${sig}`));
    } else {
      log.warn("second signal: exiting now", { signal: sig });
      process.exit(1);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const t0 = Date.now();
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  // Usage accounting: samples wait on disk until the server acks them; each recorded exit
  // (also one found while adopting) takes a final sample before its cgroup goes.
  const usage = UsageSpool.open(config.stateDir, log);
  // Loaded lazily so `--help` and usage errors answer instantly.
  const { ContainerService } = await import("./containers/container-service");
  const service = await ContainerService.create({
    onExitRecorded: finalSampleHook(usage, log),
    stateDir: config.stateDir,
    ...(config.runtimePath === undefined ? {} : { runtimePath: config.runtimePath }),
    ...(config.runtimeName === undefined ? {} : { runtimeName: config.runtimeName }),
    ...(config.conmonPath === undefined ? {} : { conmonPath: config.conmonPath }),
    ...(config.insecureRegistries === undefined
      ? {}
      : { insecureRegistries: config.insecureRegistries }),
    log: (msg, extra) => log.info(msg, { component: "engine", ...extra }),
    ...(config.networkPrefix === "off" ? {} : { network: { prefix: config.networkPrefix } }),
  });
  if (config.networkPrefix !== "off") {
    const { readFile } = await import("node:fs/promises");
    const fwd = await readFile("/proc/sys/net/ipv4/ip_forward", "utf8").catch(() => "");
    if (fwd.trim() !== "1")
      log.warn(
        "net.ipv4.ip_forward is 0: containers reach the host and each other, but outbound NAT and ports published to other hosts need it on (sysctl -w net.ipv4.ip_forward=1)",
      );
  }
  log.info("engine ready", {
    stateDir: config.stateDir,
    ms: Date.now() - t0,
    containers: service.list().length,
  });

  const sampler = new UsageSampler({
    source: service,
    spool: usage,
    intervalMs: config.usageIntervalSec * 1000,
    log,
  });
  sampler.start();

  let outbox: Outbox | undefined;
  let client: AgentClient | undefined;
  let cgroupLayout: CgroupLayout | undefined;
  try {
    const credential = await ensureCredential({
      stateDir: config.stateDir,
      serverUrl: config.serverUrl,
      joinToken: config.joinToken,
      hostname: config.nodeName ?? hostname(),
      log,
      signal: shutdown.signal,
    });
    outbox = Outbox.open(config.stateDir, log);
    client = new AgentClient({
      serverUrl: config.serverUrl,
      credential,
      handler: service,
      outbox,
      usage,
      log,
      storeCredential: (cred) => writeCredential(config.stateDir, cred),
      nodeUsage: async () => readSubtreeUsage((cgroupLayout ??= await detectCgroups())),
    });
    client.start();
    log.info("agent started", {
      nodeId: credential.nodeId,
      nodeName: credential.nodeName,
      server: config.serverUrl,
      pendingEvents: outbox.size,
      ms: Date.now() - t0,
    });
    if (!shutdown.signal.aborted)
      await new Promise((resolve) =>
        shutdown.signal.addEventListener("abort", resolve, { once: true }),
      );
    return 0;
  } catch (e) {
    if (shutdown.signal.aborted) return 0;
    if (e instanceof AgentStartupError) {
      log.error(e.message, {
        exitCode: e.exitCode,
        credentialPath: credentialPath(config.stateDir),
        ...e.details,
      });
      return e.exitCode;
    }
    throw e;
  } finally {
    await sampler.stop();
    await closeAll(log, client, service, outbox);
    usage.close();
  }
}

async function closeAll(
  log: Logger,
  client: AgentClient | undefined,
  service: { close(): Promise<void> },
  outbox: Outbox | undefined,
) {
  const grace = setTimeout(() => {
    log.error("shutdown took too long: exiting", { graceMs: SHUTDOWN_GRACE_MS });
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  grace.unref();
  try {
    await client?.close();
  } catch (e) {
    log.error("closing the connection failed", { error: (e as Error).message });
  }
  try {
    await service.close();
  } catch (e) {
    log.error("closing the engine failed", { error: (e as Error).message });
  }
  outbox?.close();
  clearTimeout(grace);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(
      JSON.stringify({
        ts: new Date().toISOString(),
        level: "error",
        msg: "fatal",
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      }) + "\n",
    );
    process.exit(1);
  },
);
