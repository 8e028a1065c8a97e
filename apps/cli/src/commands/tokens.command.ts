/**
 * `berth token create|ls|revoke`: API tokens for automation (CI, scripts), scoped and expiring.
 *
 *   berth token create NAME [--scope PERMISSION …] [--expires 30d] [--json]
 *   berth token ls [--all] [--json]
 *   berth token revoke ID|NAME [ID|NAME…]
 *
 * The secret is printed once, by create; the server keeps only its hash.
 */
import { type Command } from "commander";
import { PERMISSIONS, PermissionSchema, type Permission } from "@berth/core";
import type { TokenView } from "../api/account-api";
import { withApi, type CliContext } from "../context";
import { CliError, UsageError } from "../errors";
import { ago, formatTable } from "../format/docker-format";
import { type GlobalFlags } from "./global-flags";

/** `30d`, `2w`, `1y` or a bare number of days → days. */
export function parseExpiryDays(v: string): number {
  const m = /^(\d{1,4})(d|w|y)?$/.exec(v.trim());
  const days = m ? Number(m[1]) * (m[2] === "w" ? 7 : m[2] === "y" ? 365 : 1) : NaN;
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new UsageError(
      `invalid --expires ${JSON.stringify(v)}`,
      "use a number of days (30 or 30d), weeks (2w) or years (1y), at most 10 years",
    );
  return days;
}

export function parseScopes(values: string[]): Permission[] | undefined {
  if (values.length === 0) return undefined;
  const out: Permission[] = [];
  for (const v of values
    .flatMap((x) => x.split(","))
    .map((x) => x.trim())
    .filter(Boolean)) {
    const p = PermissionSchema.safeParse(v);
    if (!p.success)
      throw new UsageError(
        `unknown permission ${JSON.stringify(v)}`,
        `one of: ${PERMISSIONS.join(" ")}`,
      );
    out.push(p.data);
  }
  return out;
}

export function formatTokenTable(tokens: TokenView[], now: number): string {
  return formatTable(
    ["ID", "NAME", "SCOPES", "CREATED", "LAST USED", "EXPIRES"],
    tokens.map((t) => [
      t.id,
      t.name,
      t.scopes === null ? "all" : t.scopes.join(","),
      ago(t.createdAt, now),
      t.lastUsedAt === null ? "never" : ago(t.lastUsedAt, now),
      t.revokedAt !== null
        ? "revoked"
        : t.expiresAt === null
          ? "never"
          : t.expiresAt <= now
            ? "expired"
            : new Date(t.expiresAt).toISOString().slice(0, 10),
    ]),
  );
}

export function registerTokenCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const token = program
    .command("token")
    .description("Manage your API tokens (for CI and scripts: BERTH_TOKEN=…)")
    .usage("COMMAND");

  token
    .command("create")
    .description("Create an API token; its secret is printed once")
    .usage("NAME [OPTIONS]")
    .argument("<name>", "a name to recognise it by")
    .option(
      "--scope <permission>",
      "limit the token to this permission (repeatable; default: all of yours)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--expires <duration>", "expire after this long (30d, 2w, 1y; default: never)")
    .option("--json", "print the token and its details as JSON")
    .action(async (name: string, flags: { scope: string[]; expires?: string; json?: boolean }) => {
      const scopes = parseScopes(flags.scope);
      const expiresInDays =
        flags.expires === undefined ? undefined : parseExpiryDays(flags.expires);
      const made = await withApi(ctx, globals(), {}, (api) =>
        api.tokens.create({
          name,
          ...(scopes ? { scopes } : {}),
          ...(expiresInDays === undefined ? {} : { expiresInDays }),
        }),
      );
      if (flags.json) {
        ctx.stdout.write(`${JSON.stringify(made, null, 2)}\n`);
        return;
      }
      ctx.stdout.write(`${made.token}\n`);
      ctx.stderr.write(
        `created token ${made.name} (${made.id})${made.scopes ? ` limited to ${made.scopes.join(", ")}` : ""}` +
          `${made.expiresAt ? `, expires ${new Date(made.expiresAt).toISOString()}` : ""}.\n` +
          "Save it now: it is not shown again.\n",
      );
    });

  token
    .command("ls")
    .alias("list")
    .description("List your API tokens (never their secrets)")
    .usage("[OPTIONS]")
    .option("-a, --all", "include revoked tokens")
    .option("--json", "print a JSON array")
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      const tokens = await withApi(ctx, globals(), {}, (api) =>
        api.tokens.list(flags.all === true),
      );
      if (flags.json) ctx.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
      else ctx.stdout.write(`${formatTokenTable(tokens, ctx.now())}\n`);
    });

  token
    .command("revoke")
    .alias("rm")
    .description("Revoke API tokens by id or name")
    .usage("ID|NAME [ID|NAME...]")
    .argument("<refs...>", "token ids or names")
    .action(async (refs: string[]) => {
      const failures: string[] = [];
      await withApi(ctx, globals(), {}, async (api) => {
        for (const ref of refs) {
          try {
            const t = await api.tokens.revoke(ref);
            ctx.stdout.write(`${t.id}\n`);
          } catch (e) {
            failures.push(`${ref}: ${(e as Error).message}`);
          }
        }
      });
      if (failures.length > 0)
        throw new CliError(failures.length === 1 ? failures[0]! : "some tokens were not revoked", {
          details: failures.length === 1 ? [] : failures,
          hint: "see `berth token ls`",
        });
    });
}
