/**
 * Browser tests against a real local Berth: scripts/launch.ts starts berth-server (production
 * build: run `npm run build -w @berth/web` first) and a berth-agent joined to it, as root.
 * Chromium is Debian's /usr/bin/chromium; no browser is ever downloaded.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "@playwright/test";
import { adminPassword, adminUser, baseURL, networkPrefix, port } from "./e2e/env";

// The config is evaluated in the runner and again in every worker: create the fresh state
// directories once, in the runner, and hand them down through the environment.
// e2e/global-teardown.ts removes them when the runner exits.
process.env.BERTH_E2E_STATE_DIR ??= mkdtempSync(join(tmpdir(), "berth-e2e-"));
const stateDir = process.env.BERTH_E2E_STATE_DIR;

export default defineConfig({
  testDir: "./e2e",
  testMatch: "**/*.spec.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: process.env.CI === "true",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI === "true" ? [["list"], ["html", { open: "never" }]] : [["list"]],
  globalTeardown: "./e2e/global-teardown.ts",
  use: {
    baseURL,
    headless: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
      ],
    },
  },
  webServer: {
    command: "node --import tsx ../../scripts/launch.ts",
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: "pipe",
    stderr: "pipe",
    // launch.ts stops the agent, then the server, on SIGTERM; give it time to.
    gracefulShutdown: { signal: "SIGTERM", timeout: 30_000 },
    env: {
      BERTH_PORT: String(port),
      BERTH_HOST: "127.0.0.1",
      BERTH_DATA_DIR: join(stateDir, "server"),
      BERTH_AGENT_STATE_DIR: join(stateDir, "agent"),
      BERTH_ADMIN_USER: adminUser,
      BERTH_ADMIN_PASSWORD: adminPassword,
      BERTH_NETWORK_PREFIX: networkPrefix,
      // Usage samples every second, so the usage spec sees a short container's usage at once.
      BERTH_USAGE_INTERVAL: "1",
      // Terminal sessions are recorded (session-recording.spec.ts replays one).
      BERTH_RECORD_SESSIONS: "1",
      NEXT_TELEMETRY_DISABLED: "1",
    },
  },
});
