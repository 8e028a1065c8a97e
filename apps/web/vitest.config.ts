import { defineConfig } from "vitest/config";
// Unit tests beside the code; e2e/ is Playwright's.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "*.test.ts"],
    exclude: ["**/node_modules/**", "e2e/**", ".next/**"],
  },
});
