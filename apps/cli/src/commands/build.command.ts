/**
 * `berth build`: docker's verb. The context directory is packed here (its `.dockerignore`
 * applied, api/build-context.ts), streamed to berth-server and on to a node, which runs the
 * Dockerfile; the build's output comes back line by line as it runs.
 *
 *   berth build [-t NAME:TAG]... [-f Dockerfile] [--build-arg K=V]... [--target STAGE]
 *               [--network default|none|host] [--node N] [-q] [--json] PATH|-
 *
 * `-` reads a context tar from stdin. `-f` names the Dockerfile inside the context (docker also
 * accepts one outside it; Berth refuses that with a hint).
 */
import { isAbsolute, relative, resolve } from "node:path";
import { type Command } from "commander";
import { ImageRefSchema, shortImageId } from "@berth/core";
import { uploadBuild } from "../api/archive-transfer";
import { packContext } from "../api/build-context";
import { connection, userAgent, type CliContext } from "../context";
import { CliError, EXIT_USAGE, toCliError } from "../errors";
import { humanSize } from "../format/docker-format";
import { type GlobalFlags, withTeamFlag } from "./global-flags";

interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  network: string;
  node?: string;
  team?: string;
  quiet?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** The query of POST /api/images/build from the flags; usage errors are CliErrors. */
export function buildQuery(
  flags: BuildFlags,
  contextDir: string | null,
  cwd: string,
): [string, string][] {
  const q: [string, string][] = [];
  for (const t of flags.tag) {
    if (!ImageRefSchema.safeParse(t).success)
      throw new CliError(`invalid tag "${t}": use NAME[:TAG], e.g. -t app:1`, {
        exitCode: EXIT_USAGE,
      });
    q.push(["t", t]);
  }
  if (flags.file !== undefined) {
    let file = flags.file;
    if (contextDir !== null) {
      // `-f` is a path from here (as docker reads it); the server wants it inside the context.
      const abs = resolve(cwd, file);
      const rel = relative(contextDir, abs);
      if (rel.startsWith("..") || isAbsolute(rel))
        throw new CliError(
          `the Dockerfile ${flags.file} is outside the build context ${contextDir}`,
          {
            exitCode: EXIT_USAGE,
            hint: "move it into the context directory, or build from its directory",
          },
        );
      file = rel.split("\\").join("/");
    }
    q.push(["file", file]);
  }
  for (const kv of flags.buildArg) {
    if (!kv.includes("="))
      throw new CliError(`--build-arg ${kv}: use KEY=VALUE`, { exitCode: EXIT_USAGE });
    q.push(["build-arg", kv]);
  }
  if (flags.target !== undefined) q.push(["target", flags.target]);
  if (!["default", "none", "host"].includes(flags.network))
    throw new CliError(`--network ${flags.network}: use default, none or host`, {
      exitCode: EXIT_USAGE,
    });
  if (flags.network !== "default") q.push(["network", flags.network]);
  if (flags.node !== undefined) q.push(["node", flags.node]);
  return q;
}

export function registerBuildCommand(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("build")
    .description("Build an image from a Dockerfile on a node")
    .argument("<path>", "the build context directory, or - for a context tar on stdin")
    .option("-t, --tag <name:tag>", "name the image (repeatable)", collect, [])
    .option("-f, --file <path>", "the Dockerfile (default PATH/Dockerfile)")
    .option("--build-arg <key=value>", "set a build-time variable (repeatable)", collect, [])
    .option("--target <stage>", "build up to this stage")
    .option(
      "--network <mode>",
      "network of RUN steps: default (none), none, host (admins)",
      "default",
    )
    .option("--node <node>", "the node that builds (id or name)")
    .option("--team <team>", "the team that owns the image (default: the team you act in)")
    .option("-q, --quiet", "print only the image digest")
    .option("--json", "print the result as JSON")
    .action(async (path: string, flags: BuildFlags) => {
      const contextDir = path === "-" ? null : resolve(path);
      const query = buildQuery(flags, contextDir, process.cwd());
      const conn = connection(ctx, withTeamFlag(globals(), flags));
      const t = {
        server: conn.server,
        token: conn.token,
        userAgent: userAgent(ctx),
        team: conn.team,
      };
      const quiet = flags.quiet === true || flags.json === true;
      let source: AsyncIterable<Buffer | string>;
      let summary = "";
      let packed: Awaited<ReturnType<typeof packContext>> | undefined;
      if (contextDir === null) {
        source = ctx.stdin as AsyncIterable<Buffer | string>;
      } else {
        const dockerfile = query.find(([k]) => k === "file")?.[1] ?? "Dockerfile";
        try {
          packed = await packContext(contextDir, dockerfile);
        } catch (e) {
          throw new CliError(`cannot read the build context: ${(e as Error).message}`, {
            exitCode: EXIT_USAGE,
          });
        }
        source = packed.stream;
      }
      let sent = 0;
      try {
        const built = await uploadBuild(
          t,
          query,
          source,
          (line) => {
            if (!quiet) ctx.stdout.write(`${line}\n`);
          },
          (bytes) => (sent = bytes),
        );
        if (packed) {
          summary = `${humanSize(sent)}, ${packed.entries()} entries`;
          if (packed.excluded() > 0) summary += `, ${packed.excluded()} excluded by .dockerignore`;
          for (const s of packed.skipped())
            ctx.stderr.write(`berth: skipped ${s} (not a file, directory or link)\n`);
        }
        if (flags.json) {
          ctx.stdout.write(`${JSON.stringify(built, null, 2)}\n`);
          return;
        }
        if (flags.quiet) {
          ctx.stdout.write(`${built.digest}\n`);
          return;
        }
        for (const w of built.warnings) ctx.stderr.write(`WARNING: ${w}\n`);
        if (summary) ctx.stdout.write(`Build context sent: ${summary}\n`);
        ctx.stdout.write(`Successfully built ${shortImageId(built.digest)} on ${built.nodeName}\n`);
        for (const tag of built.tags) ctx.stdout.write(`Successfully tagged ${tag}\n`);
      } catch (e) {
        throw toCliError(e, {
          server: conn.server,
          hasToken: conn.token !== null,
          tokenFrom: conn.tokenFrom,
        });
      }
    });
}
