/** Container verbs, as docker has them: run, ps, logs, stop, rm, inspect. */
import { type Command } from "commander";
import { formatPorts } from "@berth/core";
import type { BerthApi } from "../api/berth-api";
import type { ContainerView } from "../api/views";
import { withApi, type CliContext } from "../context";
import { CliError, EXIT_FAILURE, EXIT_RUN_FAILED, UsageError, toCliError } from "../errors";
import { ago, commandColumn, containerStatus, formatTable } from "../format/docker-format";
import { inspectView, type InspectView } from "../format/inspect-view";
import { LogPrinter } from "../format/log-printer";
import { type GlobalFlags, withTeamFlag } from "./global-flags";
import { eachRef } from "./each-ref";
import { parseLogTime } from "./log-time";
import { defineRunCommand, toRunInput, type RunFlags } from "./run-args";

export const PS_COLUMNS = [
  "CONTAINER ID",
  "NAMES",
  "IMAGE",
  "COMMAND",
  "CREATED",
  "STATUS",
  "PORTS",
  "NODE",
];

/** `ports`: docker's PORTS text per container id (networks.containers; absent = none). */
export function psRows(
  list: ContainerView[],
  now: number,
  noTrunc = false,
  ports: ReadonlyMap<string, string> = new Map(),
): string[][] {
  return list.map((c) => [
    noTrunc ? c.id : c.shortId,
    c.name,
    c.image,
    commandColumn(c.command, noTrunc),
    ago(c.createdAt, now),
    containerStatus(c, now),
    ports.get(c.id) ?? "",
    c.nodeName,
  ]);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const EXIT_INTERRUPTED = 130;
const ALIVE = new Set(["creating", "created", "running", "paused", "stopping"]);

function isNotFound(e: unknown): boolean {
  const data =
    typeof e === "object" && e !== null
      ? (e as { data?: { code?: unknown; kind?: unknown } }).data
      : undefined;
  if (data?.code === "NOT_FOUND" || data?.kind === "not_found") return true;
  return e instanceof CliError && e.cause !== undefined && isNotFound(e.cause);
}

/**
 * `run` attached: stream the output until the container is done, then answer its exit code.
 * The log stream and the wait run in parallel (both end when the container does). With --rm the
 * server may remove a short-lived container before they start: then run's own answer (already
 * exited, with its exit code) is used, and a vanished log stream is reported, not fatal.
 */
export async function attach(ctx: CliContext, api: BerthApi, view: ContainerView): Promise<number> {
  const alreadyDone = !ALIVE.has(view.state);
  const waited = alreadyDone
    ? Promise.resolve({ ok: true as const, r: { exitCode: view.exitCode, state: view.state } })
    : api.waitContainer(view.id).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
  const printer = new LogPrinter(ctx.stdout, ctx.stderr);
  // Ctrl-C once: stop the container (docker forwards the signal); twice: detach, leaving it be.
  const detach = new AbortController();
  let interrupts = 0;
  const offInterrupt = ctx.onInterrupt?.(() => {
    interrupts++;
    if (interrupts === 1) {
      ctx.stderr.write(`berth: stopping ${view.shortId} (Ctrl-C again to detach)\n`);
      api.stopContainer({ ref: view.id }).catch((e: unknown) => {
        ctx.stderr.write(`berth: could not stop ${view.shortId}: ${message(e)}\n`);
      });
    } else detach.abort();
  });
  let logsError: unknown = null;
  try {
    await api.streamLogs(
      { ref: view.id, follow: true, timestamps: false },
      (chunk) => printer.write(chunk),
      detach.signal,
    );
  } catch (e) {
    logsError = e;
  }
  const w = await Promise.race([
    waited,
    new Promise<null>((resolve) => {
      if (detach.signal.aborted) resolve(null);
      else detach.signal.addEventListener("abort", () => resolve(null), { once: true });
    }),
  ]);
  offInterrupt?.();
  if (w === null) {
    ctx.stderr.write(
      `berth: detached from ${view.shortId}; it keeps running (\`berth stop ${view.shortId}\`)\n`,
    );
    return EXIT_INTERRUPTED;
  }
  if (!w.ok) {
    if (view.autoRemove && isNotFound(w.e)) {
      throw new CliError(
        `container ${view.shortId} was removed (--rm) before its exit code could be read`,
        { exitCode: EXIT_RUN_FAILED },
      );
    }
    throw w.e;
  }
  if (logsError !== null) {
    const why =
      view.autoRemove && isNotFound(logsError)
        ? "it was removed (--rm) before its logs were read"
        : message(logsError);
    ctx.stderr.write(`berth: the output of ${view.shortId} may be incomplete: ${why}\n`);
  }
  if (w.r.exitCode === null) {
    const detail = view.error ? `: ${view.error}` : "";
    throw new CliError(
      `container ${view.shortId} ended (${w.r.state}) without an exit code${detail}`,
      { exitCode: EXIT_RUN_FAILED },
    );
  }
  return w.r.exitCode;
}

export function registerContainerCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
  setExitCode: (code: number) => void,
): void {
  defineRunCommand(program.command("run")).action(
    async (image: string, command: string[], flags: RunFlags) => {
      const input = toRunInput(image, command, flags, (n) => ctx.lookupEnv(n));
      // Attached `--rm`: like docker's client, remove the container only after its output and
      // exit code were read, so a short-lived container cannot vanish before we attach.
      const removeAfter = !flags.detach && input.autoRemove === true;
      if (removeAfter) input.autoRemove = false;
      try {
        const code = await withApi(ctx, withTeamFlag(globals(), flags), {}, async (api) => {
          const view = await api.runContainer(input);
          if (flags.detach) {
            ctx.stdout.write(`${view.id}\n`);
            return 0;
          }
          try {
            return await attach(ctx, api, view);
          } finally {
            if (removeAfter) {
              await api.removeContainer({ ref: view.id, force: true }).catch((e: unknown) => {
                ctx.stderr.write(`berth: could not remove ${view.shortId}: ${message(e)}\n`);
              });
            }
          }
        });
        setExitCode(code);
      } catch (e) {
        const err = e instanceof CliError ? e : toCliError(e, { server: "", hasToken: true });
        // Like docker: a failure of `run` itself (not of the container) exits 125.
        throw err.exitCode === EXIT_FAILURE ? err.withExitCode(EXIT_RUN_FAILED) : err;
      }
    },
  );

  program
    .command("ps")
    .description("List containers")
    .option("-a, --all", "show all containers (default shows just running)")
    .option("-q, --quiet", "only display container IDs")
    .option("--no-trunc", "don't truncate output")
    .option("--json", "print JSON")
    .action(async (flags: { all?: boolean; quiet?: boolean; trunc: boolean; json?: boolean }) => {
      const { list, ports } = await withApi(ctx, globals(), {}, async (api) => {
        const list = await api.listContainers({ all: flags.all === true });
        const ports = new Map<string, string>();
        // Published ports exist only while a container runs; asked live from the nodes, and
        // best effort: an offline node or an older server leaves the column empty.
        if (!flags.quiet && !flags.json && list.some((c) => c.state === "running")) {
          const nets = await api.containerNetworks().catch(() => []);
          for (const n of nets) ports.set(n.containerId, formatPorts(n.network.ports));
        }
        return { list, ports };
      });
      if (flags.json) ctx.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (flags.quiet)
        ctx.stdout.write(list.map((c) => `${flags.trunc ? c.shortId : c.id}\n`).join(""));
      else
        ctx.stdout.write(
          `${formatTable(PS_COLUMNS, psRows(list, ctx.now(), !flags.trunc, ports))}\n`,
        );
    });

  program
    .command("logs")
    .description("Fetch the logs of a container")
    .argument("<container>", "container id, id prefix or name")
    .option("-f, --follow", "follow log output")
    .option(
      "-n, --tail <n>",
      'number of lines to show from the end of the logs ("all" for every line)',
      "all",
    )
    .option("-t, --timestamps", "show timestamps")
    .option(
      "--since <time>",
      "show logs since a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)",
    )
    .option(
      "--until <time>",
      "show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)",
    )
    .option("--grep <pattern>", "only lines containing PATTERN (searched on the node)")
    .option("--regex", "--grep PATTERN is a regular expression (JavaScript syntax)")
    .option("--ignore-case", "--grep ignores case")
    .option("--stream <stream>", 'only lines of one stream: "stdout" or "stderr"')
    .action(
      async (
        ref: string,
        flags: {
          follow?: boolean;
          tail: string;
          timestamps?: boolean;
          since?: string;
          until?: string;
          grep?: string;
          regex?: boolean;
          ignoreCase?: boolean;
          stream?: string;
        },
      ) => {
        if (flags.stream !== undefined && flags.stream !== "stdout" && flags.stream !== "stderr")
          throw new UsageError(
            `invalid argument ${JSON.stringify(flags.stream)} for "--stream" flag: use stdout or stderr`,
          );
        if ((flags.regex || flags.ignoreCase) && flags.grep === undefined)
          throw new UsageError("--regex and --ignore-case need --grep PATTERN");
        const filter = {
          ...(flags.stream ? { stream: flags.stream as "stdout" | "stderr" } : {}),
          ...(flags.grep !== undefined
            ? {
                grep: {
                  pattern: flags.grep,
                  regex: flags.regex === true,
                  ignoreCase: flags.ignoreCase === true,
                },
              }
            : {}),
        };
        let tail: number | undefined;
        if (flags.tail !== "all") {
          if (!/^\d+$/.test(flags.tail))
            throw new UsageError(
              `invalid argument ${JSON.stringify(flags.tail)} for "-n, --tail" flag: expected a number or "all"`,
            );
          tail = Number(flags.tail);
        }
        const now = new Date(ctx.now());
        const since =
          flags.since === undefined ? undefined : parseLogTime(flags.since, "--since", now);
        const until =
          flags.until === undefined ? undefined : parseLogTime(flags.until, "--until", now);
        const printer = new LogPrinter(ctx.stdout, ctx.stderr, flags.timestamps === true);
        await withApi(ctx, globals(), {}, (api) =>
          api.streamLogs(
            {
              ref,
              follow: flags.follow === true,
              tail,
              since,
              until,
              ...filter,
              // Times cost a third of the bytes of short lines: asked for only with -t.
              timestamps: flags.timestamps === true,
            },
            (chunk) => printer.write(chunk),
          ),
        );
      },
    );

  program
    .command("stop")
    .description("Stop one or more running containers")
    .argument("<containers...>", "container ids, id prefixes or names")
    .option("-t, --timeout <seconds>", "seconds to wait before killing the container", "10")
    .action(async (refs: string[], flags: { timeout: string }) => {
      if (!/^\d+$/.test(flags.timeout))
        throw new UsageError(
          `invalid argument ${JSON.stringify(flags.timeout)} for "-t, --timeout" flag: expected seconds`,
        );
      const timeoutSeconds = Number(flags.timeout);
      await withApi(ctx, globals(), {}, (api) =>
        eachRef(ctx, api, refs, (ref) => api.stopContainer({ ref, timeoutSeconds })),
      );
    });

  program
    .command("rm")
    .description("Remove one or more containers")
    .argument("<containers...>", "container ids, id prefixes or names")
    .option("-f, --force", "force the removal of a running container (stops it first)")
    .action(async (refs: string[], flags: { force?: boolean }) => {
      await withApi(ctx, globals(), {}, (api) =>
        eachRef(ctx, api, refs, (ref) => api.removeContainer({ ref, force: flags.force === true })),
      );
    });

  program
    .command("inspect")
    .description("Display detailed information on one or more containers (JSON)")
    .argument("<containers...>", "container ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await withApi(ctx, globals(), {}, async (api) => {
        const found: InspectView[] = [];
        const errors: string[] = [];
        for (const ref of refs) {
          try {
            const view = await api.getContainer(ref);
            // NetworkSettings, asked live from the container's node (best effort).
            const net = (await api.containerNetworks(view.id).catch(() => []))[0]?.network;
            found.push(inspectView(view, net));
          } catch (e) {
            const err = toCliError(e, { server: api.server, hasToken: api.hasToken });
            if (err.hint) throw err;
            errors.push(`${ref}: ${err.message}`);
          }
        }
        ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
        if (errors.length > 0) {
          throw new CliError(
            errors.length === 1 ? errors[0]! : `${errors.length} containers not found`,
            {
              details: errors.length === 1 ? [] : errors,
            },
          );
        }
      });
    });
}
