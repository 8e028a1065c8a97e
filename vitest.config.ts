// Root-level tests only (repository tooling); every package has its own config.
import { defineConfig } from "vitest/config";
export default defineConfig({
  test: { include: ["scripts/**/*.test.ts", "infra/install/**/*.test.ts"], testTimeout: 30_000 },
});
