/**
 * The import rules of DESIGN.md §3 are enforced by ESLint; this proves a forbidden import fails
 * lint and an allowed one passes, for every boundary.
 */
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages
    .filter((m) => m.ruleId === "@typescript-eslint/no-restricted-imports")
    .map((m) => m.message);
}

const cases: { file: string; forbidden: string[]; allowed: string[] }[] = [
  {
    file: "packages/core/src/x.ts",
    forbidden: ['import { readFileSync } from "node:fs";', 'import { openDb } from "@berth/db";'],
    allowed: ['import { z } from "zod";'],
  },
  {
    file: "packages/db/src/x.ts",
    forbidden: ['import { x } from "@berth/web/router";', 'import { x } from "@berth/node-agent";'],
    allowed: ['import { DomainError } from "@berth/core";', 'import { sql } from "drizzle-orm";'],
  },
  {
    file: "apps/node-agent/src/x.ts",
    forbidden: [
      'import { openDb } from "@berth/db";',
      'import { eq } from "drizzle-orm";',
      'import type { AppRouter } from "@berth/web/router";',
    ],
    allowed: [
      'import { DomainError } from "@berth/core";',
      'import { spawn } from "node:child_process";',
    ],
  },
  {
    file: "apps/web/src/server/x.ts",
    forbidden: ['import { x } from "@berth/node-agent";'],
    allowed: ['import { openDb } from "@berth/db";', 'import { DomainError } from "@berth/core";'],
  },
  {
    file: "apps/web/src/app/x.tsx",
    forbidden: [
      'import { openDb } from "@berth/db";',
      'import { appRouter } from "@berth/web/router";',
      'import { readFileSync } from "node:fs";',
    ],
    allowed: [
      'import type { AppRouter } from "@berth/web/router";',
      'import { ContainerSpecSchema } from "@berth/core";',
    ],
  },
  {
    file: "apps/cli/src/x.ts",
    forbidden: [
      'import { openDb } from "@berth/db";',
      'import { appRouter } from "@berth/web/router";',
    ],
    allowed: [
      'import type { AppRouter } from "@berth/web/router";',
      'import { parseByteSize } from "@berth/core";',
    ],
  },
];

describe("DESIGN §3 import rules", () => {
  for (const c of cases) {
    for (const code of c.forbidden) {
      it(`${c.file}: refuses ${code}`, async () => {
        expect(await restricted(c.file, `${code}\nexport const used = 1;\n`)).not.toEqual([]);
      });
    }
    for (const code of c.allowed) {
      it(`${c.file}: allows ${code}`, async () => {
        expect(await restricted(c.file, `${code}\nexport const used = 1;\n`)).toEqual([]);
      });
    }
  }
});
