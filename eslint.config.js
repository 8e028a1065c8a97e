// ESLint flat config. The import rules of DESIGN.md §3 are enforced here:
// a forbidden import is a lint error, so `npm run lint` fails on it.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const nodeBuiltins = [
  "node:*",
  "fs",
  "fs/*",
  "child_process",
  "net",
  "http",
  "https",
  "os",
  "path",
  "dgram",
  "tls",
  "worker_threads",
  "cluster",
];

/** Builds a restriction rule; `typeOnly` patterns may still be imported with `import type`. */
function restrict(patterns, typeOnly = []) {
  return {
    "@typescript-eslint/no-restricted-imports": [
      "error",
      {
        patterns: [
          ...patterns.map((p) => ({ group: p.group, message: p.message })),
          ...typeOnly.map((p) => ({ group: p.group, message: p.message, allowTypeImports: true })),
        ],
      },
    ],
  };
}

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/.next/**",
      "**/next-env.d.ts",
      "packages/db/drizzle/**",
      "**/test-results/**",
      "**/playwright-report/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "env",
          message: "Read configuration through the package's env/config module (DESIGN §4).",
        },
      ],
    },
  },
  // Config modules and scripts are the only readers of process.env.
  {
    files: [
      "**/env.ts",
      "**/config.ts",
      "**/*.config.ts",
      "**/*.config.js",
      "**/*.test.ts",
      "**/e2e/**",
      "bench/**",
      "infra/**",
      "scripts/**",
      "**/test-helpers/**",
      "**/test/**",
    ],
    rules: { "no-restricted-properties": "off" },
  },
  {
    files: ["packages/core/**/*.ts"],
    ignores: ["packages/core/**/*.test.ts"],
    rules: restrict([
      { group: nodeBuiltins, message: "packages/core is pure: no node I/O (DESIGN §3)." },
      {
        group: [
          "@berth/db",
          "@berth/db/*",
          "@berth/web",
          "@berth/web/*",
          "@berth/node-agent",
          "@berth/node-agent/*",
          "@berth/cli",
          "@berth/cli/*",
        ],
        message: "packages/core may import only zod (DESIGN §3).",
      },
    ]),
  },
  {
    files: ["packages/db/**/*.ts"],
    rules: restrict([
      {
        group: [
          "@berth/web",
          "@berth/web/*",
          "@berth/node-agent",
          "@berth/node-agent/*",
          "@berth/cli",
          "@berth/cli/*",
        ],
        message: "packages/db may import core and drizzle, never an app (DESIGN §3).",
      },
    ]),
  },
  {
    files: ["apps/node-agent/**/*.ts"],
    rules: restrict([
      {
        group: [
          "@berth/db",
          "@berth/db/*",
          "@berth/web",
          "@berth/web/*",
          "@berth/cli",
          "@berth/cli/*",
          "drizzle-orm",
          "drizzle-orm/*",
        ],
        message: "berth-agent may import only @berth/core (DESIGN §3).",
      },
    ]),
  },
  {
    files: ["apps/web/src/server/**/*.ts", "apps/web/server.ts"],
    rules: restrict([
      {
        group: ["@berth/node-agent", "@berth/node-agent/*", "@berth/cli", "@berth/cli/*"],
        message: "berth-server never imports the agent or CLI (DESIGN §3).",
      },
      { group: ["**/app/**", "@/app/*"], message: "Server code never imports client code." },
    ]),
  },
  {
    files: [
      "apps/web/src/app/**/*.{ts,tsx}",
      "apps/web/src/components/**/*.{ts,tsx}",
      "apps/web/src/lib/**/*.{ts,tsx}",
    ],
    languageOptions: { globals: { ...globals.browser } },
    rules: restrict(
      [
        {
          group: [
            "@berth/db",
            "@berth/db/*",
            "drizzle-orm",
            "drizzle-orm/*",
            "better-sqlite3",
            "@berth/node-agent",
            "@berth/node-agent/*",
          ],
          message: "Client code never imports the database or the agent (DESIGN §3).",
        },
        { group: nodeBuiltins, message: "Client code runs in the browser: no node modules." },
      ],
      [
        {
          group: ["**/server/**", "@/server/*", "@berth/web/router"],
          message: "Client code may import only `type AppRouter` from the server (DESIGN §3).",
        },
      ],
    ),
  },
  {
    files: ["apps/cli/**/*.ts"],
    rules: restrict(
      [
        {
          group: [
            "@berth/db",
            "@berth/db/*",
            "drizzle-orm",
            "drizzle-orm/*",
            "@berth/node-agent",
            "@berth/node-agent/*",
          ],
          message: "The CLI may import core and `type AppRouter` only (DESIGN §3).",
        },
      ],
      [
        {
          group: ["@berth/web", "@berth/web/*"],
          message: "The CLI may import only `type AppRouter` from @berth/web (DESIGN §3).",
        },
      ],
    ),
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
