/**
 * The lifecycle verbs as docker has them: create, start [-a], kill [-s], restart [-t], pause,
 * unpause, wait, rename.
 */
import { KillContainerInputSchema } from "@berth/core";
import { type Command } from "commander";
import { withApi, type CliContext } from "../context";
import { CliError, EXIT_FAILURE, EXIT_RUN_FAILED, UsageError, toCliError } from "../errors";
import { attach } from "./containers.command";
import { eachRef } from "./each-ref";
import { type GlobalFlags, withTeamFlag } from "./global-flags";
import { defineRunCommand, toRunInput, type RunFlags } from "./run-args";

function seconds(value: string, flag: string): number {
  if (!/^\d+$/.test(value))
    throw new UsageError(
      `invalid argument ${JSON.stringify(value)} for "${flag}" flag: expected seconds`,
    );
  return Number(value);
}

export function registerLifecycleCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
  setExitCode: (code: number) => void,
): void {
  defineRunCommand(program.command("create"))
    .description("Create a new container (without starting it)")
    .action(async (image: string, command: string[], flags: RunFlags) => {
      const input = toRunInput(image, command, flags, (n) => ctx.lookupEnv(n));
      try {
        const view = await withApi(ctx, withTeamFlag(globals(), flags), {}, (api) =>
          api.createContainer(input),
        );
        ctx.stdout.write(`${view.id}\n`);
      } catch (e) {
        const err = e instanceof CliError ? e : toCliError(e, { server: "", hasToken: true });
        throw err.exitCode === EXIT_FAILURE ? err.withExitCode(EXIT_RUN_FAILED) : err;
      }
    });

  program
    .command("start")
    .description("Start one or more stopped containers")
    .argument("<containers...>", "container ids, id prefixes or names")
    .option("-a, --attach", "attach to the output and answer the container's exit code")
    .action(async (refs: string[], flags: { attach?: boolean }) => {
      if (flags.attach && refs.length > 1)
        throw new UsageError("you cannot start and attach multiple containers at once");
      await withApi(ctx, globals(), {}, async (api) => {
        if (!flags.attach) return eachRef(ctx, api, refs, (ref) => api.startContainer(ref));
        const view = await api.startContainer(refs[0]!);
        setExitCode(await attach(ctx, api, view));
      });
    });

  program
    .command("kill")
    .description("Kill one or more running containers")
    .argument("<containers...>", "container ids, id prefixes or names")
    .option("-s, --signal <signal>", "signal to send to the container", "KILL")
    .action(async (refs: string[], flags: { signal: string }) => {
      const parsed = KillContainerInputSchema.shape.signal.safeParse(flags.signal);
      if (!parsed.success)
        throw new UsageError(
          `invalid argument ${JSON.stringify(flags.signal)} for "-s, --signal" flag: a signal is a name (KILL, SIGUSR1) or a number`,
        );
      await withApi(ctx, globals(), {}, (api) =>
        eachRef(ctx, api, refs, (ref) => api.killContainer({ ref, signal: flags.signal })),
      );
    });

  program
    .command("restart")
    .description("Restart one or more containers")
    .argument("<containers...>", "container ids, id prefixes or names")
    .option(
      "-t, --timeout <seconds>",
      "seconds to wait for stop before killing the container",
      "10",
    )
    .action(async (refs: string[], flags: { timeout: string }) => {
      const timeoutSeconds = seconds(flags.timeout, "-t, --timeout");
      await withApi(ctx, globals(), {}, (api) =>
        eachRef(ctx, api, refs, (ref) => api.restartContainer({ ref, timeoutSeconds })),
      );
    });

  program
    .command("pause")
    .description("Pause all processes within one or more containers")
    .argument("<containers...>", "container ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await withApi(ctx, globals(), {}, (api) =>
        eachRef(ctx, api, refs, (ref) => api.pauseContainer(ref)),
      );
    });

  program
    .command("unpause")
    .description("Unpause all processes within one or more containers")
    .argument("<containers...>", "container ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await withApi(ctx, globals(), {}, (api) =>
        eachRef(ctx, api, refs, (ref) => api.unpauseContainer(ref)),
      );
    });

  program
    .command("wait")
    .description("Block until one or more containers stop, then print their exit codes")
    .argument("<containers...>", "container ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await withApi(ctx, globals(), {}, async (api) => {
        const codes = new Map<string, number | null>();
        await eachRef(
          ctx,
          api,
          refs,
          async (ref) => codes.set(ref, (await api.waitContainer(ref)).exitCode),
          (ref) => [String(codes.get(ref) ?? -1)],
        );
      });
    });

  program
    .command("rename")
    .description("Rename a container")
    .argument("<container>", "container id, id prefix or name")
    .argument("<new-name>", "the new name")
    .action(async (ref: string, name: string) => {
      await withApi(ctx, globals(), {}, (api) => api.renameContainer({ ref, name }));
    });
}
