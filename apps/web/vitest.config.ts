import { defineConfig } from "vitest/config";
// Unit tests beside the code; e2e/ is Playwright's.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/**", ".next/**"],
    // Many server tests run a real HTTP server, WebSocket peers or agent processes; CI runs the
    // workspaces' suites two at a time on two cores, where 5 s is too tight a default.
    testTimeout: 20_000,
  },
});
