/**
 * Teams, users, roles and access:
 *   berth team create|ls|rm, berth team members TEAM, berth team add-member TEAM USER --role R,
 *   berth team rm-member TEAM USER
 *   berth user create|ls|disable|enable
 *   berth role create NAME --permission P… [--team T | --global], berth role ls|rm
 *   berth access [USER]   (what a user may do in each team, and why)
 * Listings take --json (and -q where docker has it). The global `--team` picks the team every
 * other command acts in.
 */
import { type Command } from "commander";
import { isPermission, PERMISSIONS, type EffectiveAccess } from "@berth/core";
import { withApi, type CliContext, type InputStream } from "../context";
import { UsageError } from "../errors";
import { ago, formatTable } from "../format/docker-format";
import type { BerthApi } from "../api/berth-api";
import { eachRef } from "./each-ref";
import { type GlobalFlags } from "./global-flags";

async function readAll(stream: InputStream): Promise<string> {
  let out = "";
  for await (const chunk of stream)
    out += typeof chunk === "string" ? chunk : chunk.toString("utf8");
  return out;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Runs `fn` for each name, printing the line it returns; failures per name like docker's multi-target verbs (./each-ref.ts). */
async function forEachName(
  ctx: CliContext,
  api: BerthApi,
  names: string[],
  fn: (name: string) => Promise<string>,
): Promise<void> {
  return eachRef(ctx, api, names, fn, (_name, line) => [line]);
}

/** The table `berth access` prints: one row per team, its role and its permissions. */
export function accessRows(a: EffectiveAccess): string[][] {
  return a.teams.map((t) => [
    `${t.teamName}${t.isDefault ? " (default)" : ""}`,
    t.role ?? (a.user.isAdmin ? "(admin)" : "-"),
    t.permissions.some((p) => p.via === "admin") && t.role === null
      ? "all (administrator)"
      : t.permissions.map((p) => p.permission).join(" ") || "-",
  ]);
}

export function registerTeamCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const team = program.command("team").description("Manage teams and their members");

  team
    .command("create")
    .description("Create a team (administrators)")
    .argument("<name>", "team name (lowercase letters, digits, . _ -)")
    .action(async (name: string) => {
      const t = await withApi(ctx, globals(), {}, (api) => api.teams.create(name));
      ctx.stdout.write(`${t.name}\n`);
    });

  team
    .command("ls")
    .alias("list")
    .description("List your teams (every team for administrators)")
    .option("-q, --quiet", "only display team names")
    .option("--json", "print JSON")
    .action(async (flags: { quiet?: boolean; json?: boolean }) => {
      const teams = await withApi(ctx, globals(), {}, (api) => api.teams.list());
      if (flags.json) ctx.stdout.write(`${JSON.stringify(teams, null, 2)}\n`);
      else if (flags.quiet) ctx.stdout.write(teams.map((t) => `${t.name}\n`).join(""));
      else
        ctx.stdout.write(
          `${formatTable(
            ["TEAM ID", "NAME", "MEMBERS", "CREATED"],
            teams.map((t) => [
              t.id,
              t.name,
              String(t.members),
              ago(Date.parse(t.createdAt), ctx.now()),
            ]),
          )}\n`,
        );
    });

  team
    .command("rm")
    .alias("remove")
    .description("Remove teams (administrators; refused while a team owns containers)")
    .argument("<teams...>", "team names or ids")
    .action(async (names: string[]) => {
      await withApi(ctx, globals(), {}, (api) =>
        forEachName(ctx, api, names, async (n) => (await api.teams.remove(n)).name),
      );
    });

  team
    .command("members")
    .description("List a team's members")
    .argument("<team>", "team name or id")
    .option("--json", "print JSON")
    .action(async (name: string, flags: { json?: boolean }) => {
      const members = await withApi(ctx, globals(), {}, (api) => api.teams.members(name));
      if (flags.json) ctx.stdout.write(`${JSON.stringify(members, null, 2)}\n`);
      else
        ctx.stdout.write(
          `${formatTable(
            ["USER", "ROLE", "STATUS", "SINCE"],
            members.map((m) => [
              m.username,
              m.role,
              m.disabled ? "disabled" : "active",
              ago(Date.parse(m.createdAt), ctx.now()),
            ]),
          )}\n`,
        );
    });

  team
    .command("add-member")
    .description("Add a user to a team, or change their role (team.manage)")
    .argument("<team>", "team name or id")
    .argument("<user>", "username or id")
    .option(
      "--role <role>",
      "owner, operator, viewer, billing-viewer, or a custom role (see berth role ls)",
      "viewer",
    )
    .action(async (teamName: string, user: string, flags: { role: string }) => {
      const m = await withApi(ctx, globals(), {}, (api) =>
        api.teams.addMember(teamName, user, flags.role),
      );
      ctx.stdout.write(`${m.username} is ${m.role} of ${teamName}\n`);
    });

  team
    .command("rm-member")
    .description("Remove users from a team (team.manage)")
    .argument("<team>", "team name or id")
    .argument("<users...>", "usernames or ids")
    .action(async (teamName: string, users: string[]) => {
      await withApi(ctx, globals(), {}, (api) =>
        forEachName(
          ctx,
          api,
          users,
          async (u) => (await api.teams.removeMember(teamName, u)).username,
        ),
      );
    });

  const user = program.command("user").description("Manage users (administrators)");

  user
    .command("create")
    .description("Create a user; with --team, as a member of that team (viewer by default)")
    .argument("<username>", "username")
    .option("-p, --password <password>", "password (insecure: prefer --password-stdin)")
    .option("--password-stdin", "take the password from stdin")
    .option("--admin", "make the user an administrator")
    .option("--team <team>", "a team to add the user to (and make their default)")
    .option("--role <role>", "their role in --team (default: viewer)")
    .action(
      async (
        username: string,
        flags: {
          password?: string;
          passwordStdin?: boolean;
          admin?: boolean;
          team?: string;
          role?: string;
        },
      ) => {
        if (flags.password !== undefined && flags.passwordStdin)
          throw new UsageError("--password and --password-stdin are mutually exclusive");
        if (flags.role && !flags.team)
          throw new UsageError("--role needs --team", "berth user create NAME --team T --role R");
        let password: string;
        if (flags.passwordStdin) password = (await readAll(ctx.stdin)).replace(/\r?\n$/, "");
        else if (flags.password !== undefined) password = flags.password;
        else if (ctx.promptSecret && ctx.stdin.isTTY)
          password = await ctx.promptSecret(`Password for ${username}: `);
        else
          throw new UsageError(
            "no password given",
            `pipe it in: \`berth user create ${username} --password-stdin\``,
          );
        const u = await withApi(ctx, globals(), {}, (api) =>
          api.teams.createUser({
            username,
            password,
            isAdmin: flags.admin === true,
            ...(flags.team ? { team: flags.team } : {}),
            ...(flags.role ? { role: flags.role } : {}),
          }),
        );
        ctx.stdout.write(`${u.username}\n`);
      },
    );

  user
    .command("ls")
    .alias("list")
    .description("List users")
    .option("-q, --quiet", "only display usernames")
    .option("--json", "print JSON")
    .action(async (flags: { quiet?: boolean; json?: boolean }) => {
      const users = await withApi(ctx, globals(), {}, (api) => api.teams.users());
      if (flags.json) ctx.stdout.write(`${JSON.stringify(users, null, 2)}\n`);
      else if (flags.quiet) ctx.stdout.write(users.map((u) => `${u.username}\n`).join(""));
      else
        ctx.stdout.write(
          `${formatTable(
            ["USERNAME", "ADMIN", "STATUS", "TEAMS"],
            users.map((u) => [
              u.username,
              u.isAdmin ? "yes" : "no",
              u.disabled ? "disabled" : "active",
              u.teams.map((t) => `${t.name}:${t.role}`).join(", ") || "-",
            ]),
          )}\n`,
        );
    });

  for (const [verb, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    user
      .command(verb)
      .description(
        disabled
          ? "Disable users: their sessions end and their API tokens stop working"
          : "Enable disabled users again",
      )
      .argument("<users...>", "usernames or ids")
      .action(async (names: string[]) => {
        await withApi(ctx, globals(), {}, (api) =>
          forEachName(
            ctx,
            api,
            names,
            async (n) => (await api.teams.setUserDisabled(n, disabled)).username,
          ),
        );
      });
  }

  const role = program.command("role").description("Manage custom roles (sets of permissions)");

  role
    .command("create")
    .description("Create a custom role in the acting team (--team), or a global one (--global)")
    .argument("<name>", "role name (lowercase letters, digits and dashes)")
    .option("--permission <permission>", "a permission it grants (repeat)", collect, [])
    .option("--team <team>", "the team that may use it (default: the acting team)")
    .option("--global", "usable by every team (administrators)")
    .action(
      async (name: string, flags: { permission: string[]; team?: string; global?: boolean }) => {
        const permissions = flags.permission.flatMap((p) => p.split(",")).filter(Boolean);
        if (permissions.length === 0)
          throw new UsageError(
            "give at least one --permission",
            `known permissions: ${PERMISSIONS.join(" ")}`,
          );
        const unknown = permissions.filter((p) => !isPermission(p));
        if (unknown.length > 0)
          throw new UsageError(
            `unknown permission(s): ${unknown.join(", ")}`,
            `known permissions: ${PERMISSIONS.join(" ")}`,
          );
        if (flags.global && flags.team)
          throw new UsageError("--global and --team are mutually exclusive");
        const r = await withApi(ctx, globals(), {}, (api) =>
          api.teams.createRole({
            name,
            permissions: permissions as (typeof PERMISSIONS)[number][],
            ...(flags.team ? { team: flags.team } : {}),
            ...(flags.global ? { global: true } : {}),
          }),
        );
        ctx.stdout.write(`${r.name}\n`);
      },
    );

  role
    .command("ls")
    .alias("list")
    .description("List built-in roles, global roles and the team's own")
    .option("--team <team>", "the team (default: the acting team)")
    .option("--json", "print JSON")
    .action(async (flags: { team?: string; json?: boolean }) => {
      const roles = await withApi(ctx, globals(), {}, (api) => api.teams.roles(flags.team));
      if (flags.json) ctx.stdout.write(`${JSON.stringify(roles, null, 2)}\n`);
      else
        ctx.stdout.write(
          `${formatTable(
            ["ROLE", "SCOPE", "PERMISSIONS"],
            roles.map((r) => [
              r.name,
              r.builtin ? "built-in" : (r.teamName ?? "global"),
              r.permissions.join(" "),
            ]),
          )}\n`,
        );
    });

  role
    .command("rm")
    .alias("remove")
    .description("Remove custom roles (refused while a member holds one)")
    .argument("<roles...>", "role names or ids")
    .option("--team <team>", "the team they belong to (default: the acting team)")
    .option("--global", "global roles (administrators)")
    .action(async (names: string[], flags: { team?: string; global?: boolean }) => {
      await withApi(ctx, globals(), {}, (api) =>
        forEachName(
          ctx,
          api,
          names,
          async (n) =>
            (
              await api.teams.removeRole(n, {
                ...(flags.team ? { team: flags.team } : {}),
                ...(flags.global ? { global: true } : {}),
              })
            ).name,
        ),
      );
    });

  program
    .command("access")
    .description("Show what a user may do in each team, and why (default: you)")
    .argument("[user]", "username or id (administrators)")
    .option("--json", "print JSON")
    .action(async (who: string | undefined, flags: { json?: boolean }) => {
      const a = await withApi(ctx, globals(), {}, (api) => api.teams.access(who));
      if (flags.json) {
        ctx.stdout.write(`${JSON.stringify(a, null, 2)}\n`);
        return;
      }
      ctx.stdout.write(
        `${a.user.username}${a.user.isAdmin ? " (administrator)" : ""}${a.user.disabled ? " (disabled)" : ""}\n`,
      );
      ctx.stdout.write(`${formatTable(["TEAM", "ROLE", "PERMISSIONS"], accessRows(a))}\n`);
    });
}
