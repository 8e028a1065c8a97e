/**
 * Runs while berth-server and the agent are still up: force-removes every container the specs
 * left behind (the data directory is fresh, so they are all ours). The state directory is
 * removed when the runner exits, after Playwright has stopped launch.ts, and only if no mount
 * remains beneath it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { adminPassword, adminUser, baseURL, networkPrefix } from "./env";
import { E2EApi } from "./api";

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`));
}

export default async function globalTeardown(): Promise<void> {
  const stateDir = process.env.BERTH_E2E_STATE_DIR;
  try {
    const api = new E2EApi(baseURL);
    await api.login(adminUser, adminPassword);
    for (const c of await api.containers()) {
      await api.mutate("containers.remove", { ref: c.id, force: true }).catch((e: unknown) => {
        console.error(
          `e2e teardown: could not remove container ${c.name} (${c.id}): ${(e as Error).message}`,
        );
      });
    }
  } catch (e) {
    console.error(`e2e teardown: container clean-up skipped: ${(e as Error).message}`);
  }
  if (stateDir) {
    process.once("exit", () => {
      // The agent is stopped by now: remove its bridge, rules and any netns of its prefix.
      const r = spawnSync(
        process.execPath,
        [
          // Playwright runs from apps/web (as the webServer command assumes).
          join(process.cwd(), "../node-agent/bin/berth-agent.mjs"),
          "--cleanup-network",
          "--network-prefix",
          networkPrefix,
          "--state-dir",
          join(stateDir, "agent"),
        ],
        { encoding: "utf8", timeout: 30_000 },
      );
      if (r.status !== 0)
        console.error(`e2e teardown: network clean-up failed: ${r.stderr || r.error?.message}`);
      const left = mountsUnder(stateDir);
      if (left.length > 0) {
        console.error(`e2e teardown: keeping ${stateDir}: still mounted: ${left.join(", ")}`);
        return;
      }
      rmSync(stateDir, { recursive: true, force: true });
    });
  }
}
