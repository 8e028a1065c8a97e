/**
 * `berth commit [-c CHANGE]... [-m MSG] [-a AUTHOR] [--no-pause] CONTAINER [REPO[:TAG]]`: the
 * container's changes on its image become a new image on its node, docker's verb. Prints the
 * new image's digest.
 */
import { type Command } from "commander";
import { withApi, type CliContext } from "../context";
import { type GlobalFlags } from "./global-flags";

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerCommitCommand(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("commit")
    .description("Create a new image from a container's changes")
    .argument("<container>", "container name or id")
    .argument("[repository]", "REPOSITORY[:TAG] of the new image")
    .option(
      "-c, --change <line>",
      "apply a Dockerfile line: CMD, ENTRYPOINT, ENV or WORKDIR",
      collect,
      [],
    )
    .option("-m, --message <text>", "commit message")
    .option("-a, --author <name>", 'author (e.g. "Jane <jane@example.com>")')
    .option("--no-pause", "do not freeze the container while its changes are read")
    .option("--json", "print JSON")
    .action(
      async (
        container: string,
        repository: string | undefined,
        flags: {
          change: string[];
          message?: string;
          author?: string;
          pause: boolean;
          json?: boolean;
        },
      ) => {
        const r = await withApi(ctx, globals(), {}, (api) =>
          api.commitContainer({
            ref: container,
            changes: flags.change,
            pause: flags.pause,
            ...(repository === undefined ? {} : { image: repository }),
            ...(flags.message === undefined ? {} : { message: flags.message }),
            ...(flags.author === undefined ? {} : { author: flags.author }),
          }),
        );
        ctx.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.digest}\n`);
      },
    );
}
