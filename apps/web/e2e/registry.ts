/**
 * A private Debian docker-registry (CNCF distribution) on 127.0.0.1 for the pull/push spec:
 * anonymous, storage in a temp dir, stopped by pid. Installed by `scripts/setup.sh --test`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's distribution package (apt, `scripts/setup.sh --test`), the peer registry. */
export const REGISTRY_BIN = "/usr/bin/docker-registry";

export interface E2ERegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function registryInstalled(): boolean {
  return existsSync(REGISTRY_BIN);
}

export async function startRegistry(): Promise<E2ERegistry> {
  const dir = mkdtempSync(join(tmpdir(), "berth-e2e-registry-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, "storage")}
http:
  addr: 127.0.0.1:${port}
`,
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ["serve", join(dir, "config.yml")], {
    stdio: "ignore",
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${REGISTRY_BIN}`);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, "SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 10_000; ;) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error("docker-registry did not answer on /v2/");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, stop };
}
