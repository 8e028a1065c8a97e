/**
 * `berth login` and `berth logout`. Without an argument (or with an http(s):// URL) they log in to
 * a berth-server: trade a password for an API token kept in the config file. With a registry
 * host (`berth login registry.example.com -u alice --password-stdin`) they save or remove your
 * team's credential for that registry on the berth-server (which the nodes use to pull and push).
 */
import { hostname } from "node:os";
import { type Command } from "commander";
import { configFilePath, loadConfigFile, saveConfigFile } from "../config";
import { connection, withApi, type CliContext, type InputStream } from "../context";
import { UsageError } from "../errors";
import { type GlobalFlags } from "./global-flags";

async function readAll(stream: InputStream): Promise<string> {
  let out = "";
  for await (const chunk of stream)
    out += typeof chunk === "string" ? chunk : chunk.toString("utf8");
  return out;
}

interface LoginFlags {
  server?: string;
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

/** docker's rule, adapted: a bare `host[:port]` is a registry; a URL is a berth-server. */
export function isRegistryArgument(arg: string | undefined): arg is string {
  return arg !== undefined && !/^https?:\/\//i.test(arg);
}

export function registerAuthCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("login")
    .description(
      "Log in to a berth-server and save an API token, or (with REGISTRY) save your team's credential for an image registry",
    )
    .argument("[registry]", "a registry host[:port] (a http(s):// URL means a berth-server)")
    .option(
      "--server <url>",
      "berth-server URL (default: $BERTH_SERVER, the last login, or http://127.0.0.1:8080)",
    )
    .option("-u, --username <user>", "username")
    .option("-p, --password <password>", "password (insecure: prefer --password-stdin)")
    .option("--password-stdin", "take the password from stdin")
    .action(async (target: string | undefined, flags: LoginFlags) => {
      if (flags.password !== undefined && flags.passwordStdin) {
        throw new UsageError("--password and --password-stdin are mutually exclusive");
      }
      let username = flags.username;
      let password: string;
      if (flags.passwordStdin) {
        if (!username) throw new UsageError("Must provide --username with --password-stdin");
        password = (await readAll(ctx.stdin)).replace(/\r?\n$/, "");
      } else if (flags.password !== undefined) {
        ctx.stderr.write(
          "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n",
        );
        password = flags.password;
      } else if (ctx.stdin.isTTY && ctx.promptSecret && ctx.promptLine) {
        if (!username) username = (await ctx.promptLine("Username: ")).trim();
        password = await ctx.promptSecret("Password: ");
      } else {
        throw new UsageError(
          "no password given",
          "pipe it in: `berth login -u USER --password-stdin`",
        );
      }
      if (!username) throw new UsageError("a username is required (-u USER)");
      if (password === "") throw new UsageError("the password is empty");

      if (isRegistryArgument(target)) {
        await withApi(
          ctx,
          { ...globals(), ...(flags.server ? { server: flags.server } : {}) },
          {},
          (api) => api.registryLogin({ registry: target, username, password }),
        );
        ctx.stdout.write("Login Succeeded\n");
        return;
      }
      const server = target ?? flags.server ?? globals().server;
      // Log in without sending any saved token: a stale one must not get in the way.
      await withApi(ctx, { server }, { anonymous: true }, async (api, conn) => {
        const result = await api.cliLogin({
          username,
          password,
          tokenName: `berth-cli@${hostname()}`.slice(0, 128),
        });
        const path = configFilePath(ctx.env);
        const file = loadConfigFile(path);
        file.auths[conn.server] = {
          token: result.token,
          username: result.user.username,
          savedAt: ctx.now(),
        };
        file.current = conn.server;
        saveConfigFile(path, file);
      });
      ctx.stdout.write("Login Succeeded\n");
    });

  program
    .command("logout")
    .description(
      "Forget the API token saved for a berth-server, or (with REGISTRY) your team's registry credential",
    )
    .argument("[registry]", "a registry host[:port] (a http(s):// URL means a berth-server)")
    .option("--server <url>", "berth-server URL (default: the current one)")
    .action(async (target: string | undefined, flags: { server?: string }) => {
      if (isRegistryArgument(target)) {
        const r = await withApi(
          ctx,
          { ...globals(), ...(flags.server ? { server: flags.server } : {}) },
          {},
          (api) => api.registryLogout(target),
        );
        ctx.stdout.write(
          r.removed
            ? `Removing login credentials for ${r.registry}\n`
            : `Not logged in to ${r.registry}\n`,
        );
        return;
      }
      const conn = connection(ctx, { server: target ?? flags.server ?? globals().server });
      const path = configFilePath(ctx.env);
      const file = loadConfigFile(path);
      if (!file.auths[conn.server]) {
        ctx.stdout.write(`Not logged in to ${conn.server}\n`);
        return;
      }
      delete file.auths[conn.server];
      saveConfigFile(path, file);
      ctx.stdout.write(`Removing login credentials for ${conn.server}\n`);
    });
}
