/**
 * `berth save`, `berth load` and `berth image import`: image archives between this machine and a
 * node, through berth-server's raw HTTP endpoints (api/archive-transfer.ts).
 *
 *   berth save [-o FILE] [--node N] IMAGE...     OCI layout archive (docker load reads it too)
 *   berth load [-i FILE] [--node N] [-q]         OCI layout or docker-archive
 *   berth image import [--change 'CMD ["sh"]']... [--node N] FILE|- REF
 *
 * Like docker, `save` refuses to write a tar to a terminal, and `load` reads stdin without -i.
 * On a terminal, stderr shows a progress line of bytes moved.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { type Command } from "commander";
import { parseImageChanges } from "@berth/core";
import {
  downloadSave,
  uploadArchive,
  type ByteSink,
  type LoadedImage,
  type TransferTarget,
} from "../api/archive-transfer";
import { connection, userAgent, type CliContext } from "../context";
import { CliError, EXIT_USAGE, toCliError } from "../errors";
import { humanSize } from "../format/docker-format";
import { type GlobalFlags, withTeamFlag } from "./global-flags";

/** A throttled `\r`-rewritten progress line on a terminal; silent elsewhere. */
export function progressLine(ctx: CliContext, label: string, total: number | undefined) {
  const tty = ctx.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  const render = (bytes: number) => {
    const width = 30;
    let bar = "";
    if (total !== undefined && total > 0) {
      const filled = Math.min(width, Math.floor((bytes / total) * width));
      bar = `[${"=".repeat(filled)}${filled < width ? ">" : ""}${" ".repeat(Math.max(0, width - filled - 1))}] `;
    }
    const sizes =
      total !== undefined ? `${humanSize(bytes)}/${humanSize(total)}` : humanSize(bytes);
    ctx.stderr.write(`\r${label} ${bar}${sizes}\x1b[K`);
    shown = true;
  };
  return {
    update(bytes: number) {
      if (!tty) return;
      const now = ctx.now();
      if (now - last < 100) return;
      last = now;
      render(bytes);
    },
    done(bytes: number) {
      if (!tty) return;
      render(bytes);
      if (shown) ctx.stderr.write("\n");
    },
  };
}

function loadedLines(loaded: LoadedImage[]): string[] {
  return loaded.map((l) =>
    l.ref !== null ? `Loaded image: ${l.ref}` : `Loaded image ID: ${l.digest}`,
  );
}

export function registerArchiveCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const target = (
    team?: string,
  ): { t: TransferTarget; errCtx: Parameters<typeof toCliError>[1] } => {
    const conn = connection(ctx, withTeamFlag(globals(), { team }));
    return {
      t: { server: conn.server, token: conn.token, userAgent: userAgent(ctx), team: conn.team },
      errCtx: { server: conn.server, hasToken: conn.token !== null, tokenFrom: conn.tokenFrom },
    };
  };

  const save = async (images: string[], flags: { output?: string; node?: string }) => {
    if (flags.output === undefined && ctx.stdout.isTTY === true)
      throw new CliError(
        "refusing to write an image archive to a terminal: use -o FILE or redirect stdout",
        { exitCode: EXIT_USAGE },
      );
    const { t, errCtx } = target();
    const progress = progressLine(ctx, "Saving", undefined);
    let sink: ByteSink;
    let stopWatching = () => undefined as unknown;
    let file: ReturnType<typeof createWriteStream> | undefined;
    if (flags.output !== undefined) {
      file = createWriteStream(flags.output, { mode: 0o644 });
      await new Promise<void>((resolve, reject) => {
        file!.once("open", () => resolve());
        file!.once("error", reject);
      }).catch((e: unknown) => {
        throw new CliError(`cannot write ${flags.output}: ${(e as Error).message}`);
      });
      sink = file;
    } else {
      // stdout may be a pipe closed early (`berth save x | head`): stop with an error, not a crash.
      const out = ctx.stdout as unknown as ByteSink & {
        on?(event: "error", listener: (e: Error) => void): unknown;
        off?(event: "error", listener: (e: Error) => void): unknown;
      };
      let broken: Error | undefined;
      const onError = (e: Error) => (broken = e);
      out.on?.("error", onError);
      stopWatching = () => out.off?.("error", onError);
      sink = {
        write(chunk) {
          if (broken) throw new CliError(`cannot write the archive to stdout: ${broken.message}`);
          return out.write(chunk);
        },
        once: out.once?.bind(out),
      };
    }
    try {
      const bytes = await downloadSave(t, images, flags.node, sink, (b) => progress.update(b));
      progress.done(bytes);
      if (file)
        await new Promise<void>((resolve, reject) =>
          file!.end((e?: Error | null) => (e ? reject(e) : resolve())),
        );
    } catch (e) {
      if (file) {
        file.destroy();
        await rm(flags.output!, { force: true });
      }
      throw toCliError(e, errCtx);
    } finally {
      stopWatching();
    }
  };

  const load = async (flags: { input?: string; node?: string; team?: string }) => {
    const { t, errCtx } = target(flags.team);
    let source: AsyncIterable<Buffer | string>;
    let size: number | undefined;
    if (flags.input !== undefined && flags.input !== "-") {
      size = await stat(flags.input).then(
        (s) => s.size,
        (e: unknown) => {
          throw new CliError(`cannot read ${flags.input}: ${(e as Error).message}`);
        },
      );
      source = createReadStream(flags.input);
    } else {
      if (ctx.stdin.isTTY === true)
        throw new CliError("no archive given: use -i FILE or pipe one into stdin", {
          exitCode: EXIT_USAGE,
        });
      source = ctx.stdin;
    }
    const progress = progressLine(ctx, "Loading", size);
    try {
      let sent = 0;
      const r = await uploadArchive(
        t,
        "api/images/load",
        flags.node ? [["node", flags.node]] : [],
        source,
        size,
        (b) => {
          sent = b;
          progress.update(b);
        },
      );
      progress.done(sent);
      for (const line of loadedLines(r.loaded)) ctx.stdout.write(`${line}\n`);
    } catch (e) {
      throw toCliError(e, errCtx);
    }
  };

  const importRootfs = async (
    file: string,
    ref: string,
    flags: { change?: string[]; node?: string; team?: string },
  ) => {
    const changes = flags.change ?? [];
    try {
      parseImageChanges(changes);
    } catch (e) {
      throw new CliError((e as Error).message, { exitCode: EXIT_USAGE });
    }
    const { t, errCtx } = target(flags.team);
    let source: AsyncIterable<Buffer | string>;
    let size: number | undefined;
    if (file === "-") {
      source = ctx.stdin;
    } else {
      size = await stat(file).then(
        (s) => s.size,
        (e: unknown) => {
          throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
        },
      );
      source = createReadStream(file);
    }
    const query: [string, string][] = [
      ["ref", ref],
      ...changes.map((c): [string, string] => ["change", c]),
    ];
    if (flags.node) query.push(["node", flags.node]);
    const progress = progressLine(ctx, "Importing", size);
    try {
      let sent = 0;
      const r = await uploadArchive(t, "api/images/import", query, source, size, (b) => {
        sent = b;
        progress.update(b);
      });
      progress.done(sent);
      for (const l of r.loaded) ctx.stdout.write(`${l.digest}\n`);
    } catch (e) {
      throw toCliError(e, errCtx);
    }
  };

  const collect = (v: string, prev: string[] = []) => [...prev, v];

  program
    .command("save")
    .description("Save images to a tar archive (OCI layout; docker load reads it too)")
    .argument("<images...>", "references or image IDs")
    .option("-o, --output <file>", "write to a file instead of stdout")
    .option("--node <node>", "the node that holds the images (id or name)")
    .action(save);
  program
    .command("load")
    .description("Load images from a tar archive (OCI layout or docker-archive)")
    .option("-i, --input <file>", "read from a file instead of stdin")
    .option("-q, --quiet", "(accepted for docker compatibility)")
    .option("--node <node>", "the node to load into (id or name)")
    .option("--team <team>", "the team that owns the images (default: the team you act in)")
    .action(load);
  const image =
    program.commands.find((c) => c.name() === "image") ??
    program.command("image").description("Manage images");
  image
    .command("import")
    .description("Create an image from a root filesystem tarball")
    .argument("<file>", "a tar or tar.gz of the root filesystem, or - for stdin")
    .argument("<ref>", "NAME[:TAG] of the new image")
    .option(
      "-c, --change <instruction>",
      "apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, WORKDIR)",
      collect,
    )
    .option("--node <node>", "the node to import into (id or name)")
    .option("--team <team>", "the team that owns the image (default: the team you act in)")
    .action(importRootfs);
}
