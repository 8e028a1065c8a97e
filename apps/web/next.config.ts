import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

/** The monorepo root: Turbopack and output tracing must see the workspace packages. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const nextConfig: NextConfig = {
  // Pages are client components that talk to /api/trpc; the server bundle never imports
  // @berth/db or src/server (the custom server.ts serves the API outside Next).
  transpilePackages: ["@berth/core"],
  poweredByHeader: false,
  typedRoutes: false,
  reactStrictMode: true,
  outputFileTracingRoot: repoRoot,
  turbopack: { root: repoRoot },
  experimental: {
    optimizePackageImports: ["@mantine/core", "@mantine/hooks", "@tabler/icons-react"],
  },
};

export default nextConfig;
